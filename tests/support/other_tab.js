// Loaded into a same-origin iframe by dpop.js's otherTab(): that document's own copy of the package
// (its own sessions and core), as a second tab has. A module file, as the test pages' CSP allows.
window.seamlessFetchReady = import("/pkg/dpop.js").then(async (pkg) => { await pkg.default(); return pkg; });
