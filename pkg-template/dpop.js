// The I/O of DPoP (RFC 9449) for the shell, in the "seamless-fetch/dpop" entry only: the key in
// IndexedDB and WebCrypto's signing. What a proof says, and when one is made or the key dropped,
// is the core's (src/machine/proofs.rs); this module signs what the shell hands it.

/** Bytes (an ArrayBuffer or a view) as base64url without padding. */
function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes.buffer || bytes, bytes.byteOffset || 0, bytes.byteLength)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 128 random bits, base64url: a proof's `jti`, a key record's id. */
function randomId() {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

// The DPoP key of each session, by its access key's name, in IndexedDB: every tab and every reload
// of the origin signs with the one key the tokens are bound to. Its private half cannot be
// exported. The operations of this page run one after the other (`lane`): a removal asked for
// before a load is done before it.
const KEY_DB = "seamless-fetch";
const KEY_STORE = "dpop-keys";
let lane = Promise.resolve();
let memoryWarned = false;

function inLane(op) {
  const done = lane.then(op);
  lane = done.catch(() => {});
  return done;
}

/** Runs `work(store, done)` in one IndexedDB transaction of `mode`; resolves with what `done` got. */
function keyStore(mode, work) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(KEY_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(KEY_STORE);
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("IndexedDB blocked"));
    open.onsuccess = () => {
      const db = open.result;
      db.onversionchange = () => db.close(); // a test or another tab may delete the database
      let result;
      try {
        const tx = db.transaction(KEY_STORE, mode);
        tx.oncomplete = () => { db.close(); resolve(result); };
        tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
        work(tx.objectStore(KEY_STORE), (r) => { result = r; });
      } catch (e) {
        db.close();
        reject(e);
      }
    };
  });
}

const isKeyRecord = (r) => r != null && typeof r.id === "string" && r.privateKey instanceof CryptoKey && r.publicKey instanceof CryptoKey;
const makeKey = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])
  .then((pair) => ({ id: randomId(), privateKey: pair.privateKey, publicKey: pair.publicKey }));

/**
 * The key stored under `name`, or one made and stored now (`created`): read, and when absent add
 * in one transaction that reads again, so two tabs starting at once keep one key. Where IndexedDB
 * fails, a key of this page's memory, said once on the console; with no `name` (tokens in memory),
 * one of this page's memory.
 */
function loadKey(name) {
  return inLane(async () => {
    let record;
    let created = false;
    try {
      if (name === null) throw null;
      record = await keyStore("readonly", (store, done) => { const rq = store.get(name); rq.onsuccess = () => done(rq.result); });
      if (!isKeyRecord(record)) {
        const mine = await makeKey();
        record = await keyStore("readwrite", (store, done) => {
          const rq = store.get(name);
          rq.onsuccess = () => {
            if (isKeyRecord(rq.result)) return done(rq.result);
            store.put(mine, name);
            done(mine);
          };
        });
        created = record === mine;
      }
    } catch (e) {
      if (!memoryWarned && name !== null) console.warn("seamless-fetch: IndexedDB is unavailable (" + (e && e.name) + "); the DPoP key lives in this page's memory, so a reload or another tab needs a new login");
      memoryWarned ||= name !== null;
      record = await makeKey();
      created = true;
    }
    const jwk = await crypto.subtle.exportKey("jwk", record.publicKey);
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } };
    return { id: record.id, name, privateKey: record.privateKey, header: base64url(new TextEncoder().encode(JSON.stringify(header))), created };
  });
}

/** Deletes the key record under `name`: only if its id is `id` (null: whatever it is). */
function deleteKey(name, id) {
  return keyStore("readwrite", (store) => {
    const rq = store.get(name);
    rq.onsuccess = () => {
      if (rq.result != null && (id === null || (rq.result && rq.result.id === id))) store.delete(name);
    };
  });
}

/**
 * The name of `session`'s key record: one per origin and access key where the tokens are shared
 * (`localStorage`); one per tab with `sessionStorage` (an id kept beside the tokens, so a reload
 * finds it, and another tab's session is not this one's); none (`null`) where the tokens live in
 * memory, and so does the key. `make`: an id is made when there is none.
 */
function recordName(session, make) {
  if (session.kind === "local") return session.accessKey;
  if (session.kind !== "session") return null;
  try {
    const at = session.accessKey + ":dpop";
    let id = sessionStorage.getItem(at);
    if (id === null && make) sessionStorage.setItem(at, (id = randomId()));
    return id === null ? null : session.accessKey + " " + id;
  } catch {
    return null;
  }
}

/**
 * `session`'s key (a promise in `session.key`): loaded once, from IndexedDB or made there; when it
 * had to be made, `created()` first.
 */
function keyOf(session, created) {
  if (session.key === null) {
    const key = (session.key = loadKey(recordName(session, true)).then((k) => {
      if (k.created) created();
      return k;
    }));
    key.catch(() => {
      if (session.key === key) session.key = null; // asked again next time
    });
  }
  return session.key;
}

/**
 * `session` forgets its key; `used` (null: none removed) removes its record: true, only if it is
 * the one this session used; false, whatever is there.
 */
export function drop(session, used) {
  const key = session.key;
  session.key = null;
  if (used === null) return;
  const name = recordName(session, false);
  // In the lane now, ahead of any load asked for after this call.
  inLane(async () => {
    const k = key && (await key.catch(() => null));
    if (used ? k && k.name !== null : name !== null) await deleteKey(used ? k.name : name, used ? k.id : null);
  }).catch(() => {});
}

/**
 * A proof of the core's `claims` (a JSON object) by `session`'s key: a random `jti`, `ath` of the
 * token it names. One signature at a time, in the order asked: WebCrypto may sign on the page's
 * thread inside the call (Chromium does), so proofs begun together would all be computed before
 * the first of them could leave (bench/dpop.mjs: 100 requests at once left together after 41 ms).
 * The next signature starts in a task of its own once this one's call has returned: this
 * request's send, and answers that came meanwhile, go first.
 */
export function sign(session, { claims, ath }, created) {
  const turn = signing;
  let open;
  signing = new Promise((resolve) => (open = resolve));
  let released = false;
  const release = () => {
    if (!released) Promise.resolve(nextTask()).then(open);
    released = true;
  };
  return turn.then(async () => {
    try {
      const key = await keyOf(session, created);
      const hash = ath === null ? "" : ',"ath":"' + (await hashOf(ath)) + '"';
      const encoder = new TextEncoder();
      const input = key.header + "." + base64url(encoder.encode('{"jti":"' + randomId() + '"' + hash + "," + claims.slice(1)));
      const signature = crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, encoder.encode(input));
      release();
      return input + "." + base64url(await signature);
    } finally {
      release();
    }
  });
}
let signing = Promise.resolve();

/** `ath`: the base64url SHA-256 of `token`, made once per token (a storm's proofs share it). */
function hashOf(token) {
  if (hashed.token !== token) {
    hashed.token = token;
    hashed.value = crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)).then(base64url);
    hashed.value.catch(() => { if (hashed.token === token) hashed.token = null; });
  }
  return hashed.value;
}
const hashed = { token: null, value: null };

// A task of its own without a timer's clamp: a MessageChannel message (unref'd in Node, where an
// open port would keep the process alive); without one, none.
const channel = typeof MessageChannel === "function" ? new MessageChannel() : null;
const woken = [];
if (channel) {
  channel.port1.onmessage = () => woken.shift()();
  channel.port1.unref?.();
}
function nextTask() {
  return channel ? new Promise((wake) => { woken.push(wake); channel.port2.postMessage(0); }) : undefined;
}
