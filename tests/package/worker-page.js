// Starts the worker and leaves what it reports in window.results for the end-to-end test.
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
worker.onmessage = (e) => { window.results = e.data; };
worker.onerror = (e) => { window.results = { fatal: "worker error: " + e.message }; };
