const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
worker.onmessage = (e) => { window.results = e.data; };
worker.onerror = (e) => { window.results = { error: "worker error: " + (e.message || "no message (the worker script failed to load)") }; };
