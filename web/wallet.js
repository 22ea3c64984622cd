// The signing module and the key store.
//
// Transactions and read requests are encoded and signed by `wallet.wasm`: jjj-primitives,
// jjj-crypto and jjj-transcode compiled to wasm (crates/wallet-wasm), the code the CLI signs
// with. Its ABI: jjj_alloc(len) -> ptr, jjj_free(ptr, len), jjj_call(ptr, len) -> (ptr << 32 | len)
// of a JSON answer {"ok": …} or {"error": "…"} to a JSON request {"op": …}.
//
// The key never leaves the browser: its text (what a jjj key file holds) is kept in
// localStorage encrypted with AES-GCM under a key derived from the passphrase (PBKDF2-SHA256).
"use strict";

const KEY_STORE = "jjj.key.v1";
const PBKDF2_ITERATIONS = 310000;

const Signer = {
  module: null,

  async load() {
    if (this.module) return;
    const bytes = await (await fetch("wallet.wasm")).arrayBuffer();
    const { instance } = await WebAssembly.instantiate(bytes, {});
    this.module = instance.exports;
  },

  /** Runs one op of the signing module; throws its readable error. */
  call(op, args) {
    const ex = this.module;
    const input = new TextEncoder().encode(JSON.stringify({ op, ...args }));
    const ptr = ex.jjj_alloc(input.length) >>> 0;
    if (ptr === 0) throw new Error("the signing module is out of memory");
    new Uint8Array(ex.memory.buffer, ptr, input.length).set(input);
    const packed = BigInt.asUintN(64, BigInt(ex.jjj_call(ptr, input.length)));
    ex.jjj_free(ptr, input.length);
    const outPtr = Number(packed >> 32n);
    const outLen = Number(packed & 0xffffffffn);
    // Memory may have grown during the call: take a fresh view.
    const text = new TextDecoder().decode(new Uint8Array(ex.memory.buffer, outPtr, outLen).slice());
    ex.jjj_free(outPtr, outLen);
    const answer = JSON.parse(text);
    if ("error" in answer) throw new Error(answer.error);
    return answer.ok;
  },
};

function b64(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}
function unb64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function passphraseKey(passphrase, salt) {
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations: PBKDF2_ITERATIONS, hash: "SHA-256" },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const KeyStore = {
  /** The unlocked key: {text, account, scheme}; null when locked. */
  unlocked: null,

  stored() {
    try {
      return JSON.parse(localStorage.getItem(KEY_STORE) || "null");
    } catch {
      return null;
    }
  },

  async save(text, passphrase) {
    const key = Signer.call("key_from_text", { text: text.trim() });
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const aes = await passphraseKey(passphrase, salt);
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, new TextEncoder().encode(text.trim()));
    localStorage.setItem(
      KEY_STORE,
      JSON.stringify({ v: 1, account: key.account, scheme: key.scheme, salt: b64(salt), iv: b64(iv), ct: b64(ct) }),
    );
    this.unlocked = { text: text.trim(), account: key.account, scheme: key.scheme };
    return this.unlocked;
  },

  async unlock(passphrase) {
    const s = this.stored();
    if (!s) throw new Error("no key");
    let plain;
    try {
      const aes = await passphraseKey(passphrase, unb64(s.salt));
      plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(s.iv) }, aes, unb64(s.ct));
    } catch {
      throw new Error(t("wallet.badpass"));
    }
    const text = new TextDecoder().decode(plain);
    const key = Signer.call("key_from_text", { text });
    this.unlocked = { text, account: key.account, scheme: key.scheme };
    return this.unlocked;
  },

  /** A new key of `scheme` from the browser's random generator; returns its key-file text. */
  create(scheme) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const hex = "0x" + Array.from(seed, (b) => b.toString(16).padStart(2, "0")).join("");
    return Signer.call("key_from_seed", { scheme, seed: hex }).text;
  },

  lock() {
    this.unlocked = null;
  },

  forget() {
    localStorage.removeItem(KEY_STORE);
    this.unlocked = null;
  },
};
