// jjj's web pages: a resident's wallet, an explorer, governance, operator and auditor views.
// Served by the node from its web directory on the RPC port, so every call below is to the
// same origin: JSON-RPC over HTTP POST, subscriptions over a WebSocket to the same address.
"use strict";

// ---------------------------------------------------------------------------------------------
// JSON-RPC and subscriptions

let rpcId = 0;

async function rpc(method, params) {
  const res = await fetch("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: params || {} }),
  });
  const body = await res.json();
  if (body.error) throw new Error(body.error.message + (body.error.data ? `: ${JSON.stringify(body.error.data)}` : ""));
  return body.result;
}

/** Subscribes (WebSocket); calls onItem for each notification; returns a closer. */
function subscribe(method, params, onItem) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
  ws.onopen = () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }));
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.params && msg.params.result) onItem(msg.params.result);
  };
  return () => ws.close();
}

// ---------------------------------------------------------------------------------------------
// Small helpers: elements built from data, never from HTML strings

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function table(headers, rows, attrs) {
  return el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, headers.map((h) => (h instanceof Node ? h : el("th", {}, h))))),
    el("tbody", {}, rows),
  );
}

function card(title, ...children) {
  return el("section", { class: "card" }, title ? el("h2", {}, title) : null, ...children);
}

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function short(hash) {
  return hash && hash.length > 18 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

function link(href, text, cls) {
  return el("a", { href, class: cls || "hash" }, text);
}

function yuan(fen) {
  const f = BigInt(fen);
  return `${f / 100n}.${String(f % 100n).padStart(2, "0")}`;
}

function when(ms) {
  return ms ? new Date(Number(ms)).toLocaleString(LANG === "zh" ? "zh-CN" : "en-GB") : "";
}

function toast(text) {
  const t_ = document.getElementById("toast");
  t_.textContent = text;
  t_.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t_.classList.remove("show"), 4000);
}

function randomNonce() {
  const b = crypto.getRandomValues(new Uint8Array(6));
  return b.reduce((n, x) => n * 256 + x, 0);
}

function hexBytes(hex) {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
  return out;
}

function bytesHex(bytes) {
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** SCALE `Vec<(u64, Vec<AccountId>)>`: the validator schedule `light_getHeader` returns. */
function decodeSchedule(hex) {
  const b = hexBytes(hex);
  let i = 0;
  const compact = () => {
    const mode = b[i] & 3;
    if (mode === 0) return b[i++] >> 2;
    if (mode === 1) { const v = (b[i] | (b[i + 1] << 8)) >> 2; i += 2; return v; }
    if (mode === 2) { const v = (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 2; i += 4; return v; }
    throw new Error("schedule too long");
  };
  const out = [];
  for (let n = compact(); n > 0; n--) {
    let from = 0n;
    for (let k = 7; k >= 0; k--) from = (from << 8n) | BigInt(b[i + k]);
    i += 8;
    const validators = [];
    for (let m = compact(); m > 0; m--) { validators.push(bytesHex(b.slice(i, i + 32))); i += 32; }
    out.push({ from: Number(from), validators });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Networks, contract metadata and calls

const State = { network: null, networks: [], health: null, metaIndex: null, metas: {}, closers: [] };

async function loadMeta(name) {
  if (!State.metas[name]) {
    const res = await fetch(`metadata/${name}.json`);
    if (!res.ok) throw new Error(`metadata ${name}: HTTP ${res.status}`);
    State.metas[name] = await res.text();
  }
  return State.metas[name];
}

/** The metadata of the contract at `address` (by its code hash), or null. */
async function metaOfContract(net, address) {
  if (!State.metaIndex) {
    const res = await fetch("metadata/index.json");
    State.metaIndex = res.ok ? await res.json() : {};
  }
  const info = await rpc("contract_info", { network: net, account: address });
  if (!info) return null;
  const name = State.metaIndex[info.code_hash];
  return name ? { name, json: await loadMeta(name), info } : { name: null, json: null, info };
}

/**
 * The validator sets of `net` by the height they start at, as of `height` (default the head):
 * the schedule governance wrote, or the genesis set when it never changed.
 */
async function validatorSets(net, height) {
  const h = height ?? (await rpc("chain_getFinalizedHead", { network: net })).height;
  const light = await rpc("light_getHeader", { network: net, height: h }).catch(() => null);
  if (light && light.schedule) return decodeSchedule(light.schedule);
  const health = State.health.networks.find((n) => n.network === net);
  return health && health.validators ? [{ from: 1, validators: health.validators }] : [];
}

async function registry(net) {
  return rpc("gov_registry", { network: net });
}

async function officialAddress(net, name) {
  const entry = (await registry(net)).find((r) => r.name === name);
  return entry ? entry.address : null;
}

/**
 * Runs a query of `message`; `signed` sends a read request signed by the unlocked key (for
 * protected data under the contract's read policy). Returns the decoded output.
 */
async function query(net, contract, meta, message, args, signed) {
  const input = Signer.call("encode_call", { metadata: meta, message, args }).input;
  const params = { network: net, contract, input };
  if (signed && KeyStore.unlocked) {
    params.read = Signer.call("sign_read", {
      text: KeyStore.unlocked.text, network: net, contract, input, issued_at_ms: Date.now(), nonce: randomNonce(),
    }).read;
  }
  const r = await rpc("contract_query", params);
  if (r.status !== "success") throw new Error(r.reason || r.status);
  return Signer.call("decode_output", { metadata: meta, message, output: r.output });
}

// ---------------------------------------------------------------------------------------------
// Router

const PAGES = {};

async function route() {
  for (const close of State.closers.splice(0)) close();
  const [page, ...rest] = (location.hash.replace(/^#\/?/, "") || "wallet").split("/");
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page);
  const main = document.getElementById("main");
  main.replaceChildren(el("p", { class: "muted" }, t("common.loading")));
  const render = PAGES[page] || PAGES.explorer;
  try {
    const content = await render(rest.map(decodeURIComponent));
    main.replaceChildren(...[content].flat());
  } catch (e) {
    main.replaceChildren(el("p", { class: "bad", id: "page-error" }, t("common.error", { e: e.message })));
  }
  main.dataset.page = page;
  main.dataset.ready = "1";
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---------------------------------------------------------------------------------------------
// Wallet: a resident's key, bills on every network, payment signed here

PAGES.wallet = async () => {
  await Signer.load();
  const stored = KeyStore.stored();
  if (!KeyStore.unlocked) return stored ? unlockView(stored) : importView();
  const me = KeyStore.unlocked.account;
  const parts = [el("h1", {}, t("wallet.title"))];
  const balances = await Promise.all(
    State.networks.map(async (n) => [n, await rpc("state_getAccount", { network: n, account: me }).catch(() => null)]),
  );
  const reg = await rpc("gov_account", { network: State.network, account: me }).catch(() => null);
  parts.push(
    card(
      null,
      kv([
        [t("common.account"), el("span", { id: "account", class: "hash" }, me)],
        ...balances.map(([n, a]) => [
          `${t("common.balance")} (${n})`,
          el("span", { class: "balance", dataset: { network: n } }, a ? t("common.yuan", { v: yuan(a.balance) }) : "—"),
        ]),
        [t("common.member"), reg ? `${reg.member} · ${reg.roles.join(", ")}` : el("span", { class: "warn" }, t("wallet.notregistered"))],
      ]),
      el(
        "div",
        { class: "row" },
        el("button", { id: "key-export", onclick: exportKey }, t("wallet.export")),
        el("button", { id: "key-lock", onclick: () => { KeyStore.lock(); route(); } }, t("wallet.lock")),
        el("button", {
          id: "key-forget",
          onclick: () => { if (confirm(t("wallet.forget.confirm"))) { KeyStore.forget(); route(); } },
        }, t("wallet.forget")),
      ),
    ),
  );
  const billRows = [];
  const history = [];
  const notes = [];
  for (const net of State.networks) {
    const contract = await officialAddress(net, "utility-bills").catch(() => null);
    if (!contract) { notes.push(el("p", { class: "muted" }, t("wallet.bills.noreg", { net }))); continue; }
    const meta = await loadMeta("utility_bills");
    const bills = await query(net, contract, meta, "bills_of", [me], true);
    if (!bills.length) notes.push(el("p", { class: "muted" }, t("wallet.bills.none", { net })));
    const names = {};
    for (const b of bills) {
      if (!(b.provider in names)) {
        const p = await query(net, contract, meta, "provider", [b.provider], false).catch(() => null);
        names[b.provider] = p ? p.name : short(b.provider);
      }
      const ctx = { net, contract, meta, bill: b, provider: names[b.provider] };
      if (b.payment) {
        history.push(el("tr", { class: "payment", dataset: { id: b.id, network: net } },
          el("td", {}, `#${b.id}`), el("td", {}, names[b.provider]), el("td", {}, b.period),
          el("td", { class: "num" }, yuan(b.payment.amount_paid)), el("td", {}, when(b.payment.paid_at))));
      }
      const due = b.payment ? 0 : await query(net, contract, meta, "amount_due", [b.id], true);
      billRows.push(el("tr", { class: "bill", dataset: { id: b.id, network: net, paid: b.payment ? "1" : "0" } },
        el("td", {}, `#${b.id}`), el("td", { class: "wide" }, net), el("td", {}, names[b.provider]),
        el("td", {}, b.period), el("td", { class: "num" }, yuan(b.amount)),
        el("td", {}, when(b.due)), el("td", { class: "num late-fee" }, b.payment ? yuan(b.payment.late_fee) : yuan(due - b.amount)),
        el("td", {}, b.payment
          ? el("span", { class: "pill ok" }, t("wallet.paid"))
          : el("button", { class: "pay primary", dataset: { id: b.id, network: net }, onclick: () => payDialog(ctx, due) }, `${t("wallet.pay")} ${yuan(due)}`))));
    }
  }
  parts.push(card(t("wallet.bills"), ...notes,
    table([t("common.hash").slice(0, 0) || "#", el("th", { class: "wide" }, t("common.network")), t("wallet.provider"), t("wallet.period"),
      el("th", { class: "num" }, t("wallet.amount")), t("wallet.due"), el("th", { class: "num" }, t("wallet.latefee")), ""], billRows, { id: "bills" }),
    el("div", { id: "pay-area" })));
  parts.push(card(t("wallet.history"),
    history.length ? table(["#", t("wallet.provider"), t("wallet.period"), el("th", { class: "num" }, t("wallet.amount")), t("common.time")], history, { id: "history" })
      : el("p", { class: "muted", id: "history" }, t("wallet.history.none"))));
  return parts;
};

function importView() {
  const text = el("textarea", { id: "key-text", rows: 2, cols: 70, placeholder: "0x… / sm2:0x…" });
  const pass = el("input", { id: "key-pass", type: "password", autocomplete: "new-password" });
  const scheme = el("select", { id: "key-scheme" }, el("option", { value: "ed25519" }, "ed25519"), el("option", { value: "sm2" }, "SM2 (国密)"));
  return [
    el("h1", {}, t("wallet.title")),
    card(null,
      el("p", {}, t("wallet.nokey")),
      el("div", { class: "row" }, el("label", { for: "key-text" }, t("wallet.keytext")), text),
      el("div", { class: "row" }, el("label", { for: "key-pass" }, t("wallet.passphrase")), pass),
      el("div", { class: "row" },
        el("button", { id: "key-import", class: "primary", onclick: async () => {
          try { await KeyStore.save(text.value, pass.value); route(); } catch (e) { toast(e.message); }
        } }, t("wallet.import")),
        scheme,
        el("button", { id: "key-create", onclick: () => {
          try { text.value = KeyStore.create(scheme.value); toast(t("wallet.created")); } catch (e) { toast(e.message); }
        } }, t("wallet.create")))),
  ];
}

function unlockView(stored) {
  const pass = el("input", { id: "unlock-pass", type: "password", autocomplete: "current-password" });
  const unlock = async () => { try { await KeyStore.unlock(pass.value); route(); } catch (e) { toast(e.message); } };
  pass.addEventListener("keydown", (e) => { if (e.key === "Enter") unlock(); });
  return [
    el("h1", {}, t("wallet.title")),
    card(null, el("p", {}, t("wallet.locked")), kv([[t("common.account"), el("span", { class: "hash" }, stored.account)]]),
      el("div", { class: "row" }, pass, el("button", { id: "unlock", class: "primary", onclick: unlock }, t("wallet.unlock")))),
  ];
}

function exportKey() {
  const k = KeyStore.unlocked;
  const blob = new Blob([k.text + "\n"], { type: "text/plain" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `jjj-${k.account.slice(2, 10)}.key` });
  document.body.append(a);
  a.click();
  a.remove();
  toast(t("wallet.exported"));
}

/** Dry-runs the payment, shows what it costs, and signs and sends it on confirmation. */
async function payDialog(ctx, due) {
  const { net, contract, meta, bill } = ctx;
  const area = document.getElementById("pay-area");
  const me = KeyStore.unlocked.account;
  const input = Signer.call("encode_call", { metadata: meta, message: "pay", args: [bill.id] }).input;
  const amount = el("input", { id: "pay-amount", type: "number", min: 0, value: (Number(due) / 100).toFixed(2), step: "0.01" });
  const read = () => Signer.call("sign_read", { text: KeyStore.unlocked.text, network: net, contract, input, issued_at_ms: Date.now(), nonce: randomNonce() }).read;
  const dry = await rpc("contract_dryRun", { network: net, contract, input, sender: me, value: Number(due), read: read() });
  if (dry.status !== "success") { toast(t("wallet.failed", { e: dry.reason || dry.status })); return; }
  const gasLimit = dry.gas_used + Math.floor(dry.gas_used / 5) + 20000;
  const status = el("div", { id: "pay-status" });
  const send = el("button", { id: "pay-send", class: "primary" }, t("wallet.confirm.sign"));
  send.onclick = async () => {
    send.disabled = true;
    try {
      const value = Math.round(Number(amount.value) * 100);
      const acct = await rpc("state_getAccount", { network: net, account: me });
      const signed = Signer.call("sign_call", {
        text: KeyStore.unlocked.text, network: net, nonce: acct.nonce, gas_limit: gasLimit, contract, input, value,
      });
      status.replaceChildren(el("p", { class: "muted" }, t("wallet.sending")));
      const hash = await rpc("tx_submit", { network: net, tx: signed.tx });
      const r = await rpc("tx_receipt", { network: net, hash, wait_ms: 30000 });
      if (!r || r.status !== "success") throw new Error(r ? r.reason || r.status : "no receipt");
      const paid = Signer.call("decode_output", { metadata: meta, message: "pay", output: r.output });
      const cert = await rpc("chain_getCertificate", { network: net, height: r.height });
      const row = document.querySelector(`tr.bill[data-id="${bill.id}"][data-network="${net}"]`);
      if (row) {
        row.dataset.paid = "1";
        row.lastChild.replaceChildren(el("span", { class: "pill ok" }, t("wallet.paid")));
      }
      status.replaceChildren(
        el("p", { class: "ok", id: "pay-final" }, t("wallet.final", { h: r.height, tx: short(hash) })),
        kv([
          [t("wallet.receipt"), link(`#/tx/${net}/${hash}`, hash)],
          [t("wallet.amount"), t("common.yuan", { v: yuan(paid.amount_paid) })],
          [t("wallet.latefee"), t("common.yuan", { v: yuan(paid.late_fee) })],
          [t("wallet.refund"), el("span", { id: "pay-refund" }, t("common.yuan", { v: yuan(Math.max(0, value - paid.amount_paid)) }))],
          [t("common.gas"), String(r.gas_used)],
          [t("audit.proof"), el("button", { id: "pay-proof", onclick: () => downloadProof(net, hash) }, t("audit.proof.get"))],
          [t("wallet.block"), el("span", {}, link(`#/block/${net}/${r.height}`, `#${r.height}`), " · ",
            el("span", { id: "pay-cert" }, t("explorer.cert.view", { n: cert.signers.length, v: cert.view })))],
        ]),
        el("button", { id: "pay-done", onclick: () => route() }, "OK"),
      );
    } catch (e) {
      status.replaceChildren(el("p", { class: "bad", id: "pay-error" }, t("wallet.failed", { e: e.message })));
      send.disabled = false;
    }
  };
  area.replaceChildren(card(t("wallet.confirm.title"),
    el("div", { class: "dialog", id: "pay-confirm" },
      el("p", {}, t("wallet.confirm.bill", { id: bill.id, provider: ctx.provider, period: bill.period })),
      el("div", { class: "row" }, el("label", {}, t("wallet.confirm.amount", { fee: yuan(Number(due) - bill.amount) })), amount),
      kv([[t("wallet.confirm.gas"), el("span", { id: "pay-gas" }, String(dry.gas_used))], [t("wallet.confirm.limit"), String(gasLimit)]]),
      el("div", { class: "row" }, send, el("button", { onclick: () => area.replaceChildren() }, t("wallet.confirm.cancel"))),
      status)));
  area.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------------------------------------
// Explorer

PAGES.explorer = async () => {
  await Signer.load();
  const net = State.network;
  const health = await rpc("node_health");
  const head = await rpc("chain_getFinalizedHead", { network: net });
  const schedule = await validatorSets(net, head.height);
  const heads = el("tbody", { id: "heads" });
  const addHead = (h) => {
    heads.prepend(el("tr", { class: "head", dataset: { height: h.height } },
      el("td", {}, link(`#/block/${net}/${h.height}`, String(h.height), "")), el("td", {}, when(h.timestamp)),
      el("td", { class: "hash" }, short(h.hash)), el("td", { class: "hash wide" }, short(h.proposer))));
    while (heads.children.length > 12) heads.lastChild.remove();
  };
  for (let h = Math.max(1, head.height - 7); h <= head.height; h++) {
    const b = await rpc("chain_getBlock", { network: net, height: h });
    if (b) addHead(b.header);
  }
  State.closers.push(subscribe("chain_subscribeFinalizedHeads", { network: net }, addHead));
  return [
    el("h1", {}, t("explorer.title")),
    card(t("explorer.networks"),
      table([t("common.network"), t("common.height"), t("common.hash"), t("explorer.validator.this")],
        health.networks.map((n) => el("tr", {}, el("td", {}, n.network), el("td", {}, String(n.height)),
          el("td", { class: "hash" }, short(n.head)), el("td", {}, n.validator ? t("common.yes") : t("common.no"))))),
      el("h2", {}, `${t("explorer.validators")} (${net})`),
      validatorTable(schedule)),
    card(t("explorer.heads"),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, t("common.height")), el("th", {}, t("common.time")),
        el("th", {}, t("common.hash")), el("th", { class: "wide" }, t("common.proposer")))), heads)),
  ];
};

function validatorTable(schedule) {
  if (!schedule.length) return el("p", { class: "muted" }, t("common.none"));
  return table([t("common.height"), t("explorer.validators")], schedule.map((s) =>
    el("tr", { class: "validator-set" }, el("td", {}, t("gov.validators.from", { h: s.from })),
      el("td", {}, s.validators.map((v) => el("div", { class: "hash validator" }, v))))), { id: "validators" });
}

PAGES.block = async ([net, id]) => {
  await Signer.load();
  const params = /^\d+$/.test(id) ? { network: net, height: Number(id), raw: true } : { network: net, hash: id, raw: true };
  const b = await rpc("chain_getBlock", params);
  if (!b) throw new Error(t("search.none", { q: id }));
  const h = b.header;
  const cert = h.height > 0 ? await rpc("chain_getCertificate", { network: net, height: h.height }) : null;
  const decoded = b.raw_block ? Signer.call("decode_block", { block: b.raw_block }).transactions : [];
  const rows = [];
  for (const [i, tx] of b.transactions.entries()) {
    const d = decoded[i];
    const r = await rpc("tx_receipt", { network: net, hash: tx.hash });
    rows.push(el("tr", { class: "tx" },
      el("td", {}, String(i)), el("td", {}, link(`#/tx/${net}/${tx.hash}`, short(tx.hash))),
      el("td", { class: "hash wide" }, short(tx.sender)), el("td", {}, await describeCall(net, d, tx.call)),
      el("td", {}, r ? statusPill(r.status) : ""), el("td", { class: "num" }, r ? String(r.gas_used) : "")));
  }
  return [
    el("h1", {}, `${t("explorer.block", { h: h.height })} · ${net}`),
    el("div", { class: "row" },
      h.height > 0 ? link(`#/block/${net}/${h.height - 1}`, `← ${t("explorer.prev")}`, "") : null,
      link(`#/block/${net}/${h.height + 1}`, `${t("explorer.next")} →`, "")),
    card(null, kv([
      [t("common.hash"), el("span", { class: "hash", id: "block-hash" }, h.hash)],
      ["parent", link(`#/block/${net}/${h.parent_hash}`, h.parent_hash)],
      [t("common.time"), when(h.timestamp)],
      [t("common.proposer"), link(`#/account/${net}/${h.proposer}`, h.proposer)],
      ["state root", el("span", { class: "hash" }, h.state_root)],
      ["tx root", el("span", { class: "hash" }, h.tx_root)],
      ["receipts root", el("span", { class: "hash" }, h.receipts_root)],
    ])),
    card(t("explorer.certificate"), cert
      ? el("div", { id: "certificate" },
        el("p", { id: "cert-summary" }, t("explorer.cert.view", { n: cert.signers.length, v: cert.view }),
          " ", cert.verified ? el("span", { class: "pill ok" }, "✓") : null),
        el("div", { id: "cert-signers" }, cert.signers.map((s) => el("div", { class: "hash signer" }, s))))
      : el("p", { class: "muted" }, "genesis")),
    card(`${t("explorer.tx")} (${b.transactions.length})`,
      table(["#", t("common.hash"), el("th", { class: "wide" }, t("common.sender")), t("explorer.call"), t("common.status"), el("th", { class: "num" }, t("common.gas"))], rows, { id: "block-txs" })),
  ];
};

function statusPill(status) {
  return el("span", { class: `pill ${status === "success" ? "ok" : "bad"}` }, status);
}

/** A transaction's call in words: the contract (by official name), the message and arguments. */
async function describeCall(net, d, fallback) {
  if (!d || !d.call || !d.call.contract) return d && d.call ? d.call.kind : fallback;
  const names = await registry(net).catch(() => []);
  const named = names.find((r) => r.address === d.call.contract);
  const who = link(`#/contract/${net}/${d.call.contract}`, named ? named.name : short(d.call.contract), "");
  const m = await metaOfContract(net, d.call.contract).catch(() => null);
  if (!m || !m.json || !d.call.input) return el("span", {}, who, ` ${d.call.kind}`);
  try {
    const c = Signer.call("decode_call", { metadata: m.json, input: d.call.input });
    return el("span", { class: "decoded-call" }, who, ".", el("b", {}, c.message), `(${JSON.stringify(c.args)})`,
      d.call.value ? ` + ${yuan(d.call.value)} 元` : "");
  } catch {
    return el("span", {}, who, ` ${d.call.kind}`);
  }
}

PAGES.tx = async ([net, hash]) => {
  await Signer.load();
  const r = await rpc("tx_receipt", { network: net, hash });
  if (!r) throw new Error(t("search.none", { q: hash }));
  const b = r.height != null ? await rpc("chain_getBlock", { network: net, height: r.height, raw: true }) : null;
  const d = b && b.raw_block ? Signer.call("decode_block", { block: b.raw_block }).transactions[r.index] : null;
  let output = r.output;
  let events = r.events.map((e) => ({ contract: e.contract, text: e.data }));
  let call = d ? await describeCall(net, d, "") : "";
  if (d && d.call && d.call.contract) {
    const m = await metaOfContract(net, d.call.contract).catch(() => null);
    if (m && m.json) {
      try {
        const c = Signer.call("decode_call", { metadata: m.json, input: d.call.input });
        output = JSON.stringify(Signer.call("decode_output", { metadata: m.json, message: c.message, output: r.output }));
      } catch { /* raw output stays */ }
    }
    events = await Promise.all(r.events.map(async (e) => {
      const em = await metaOfContract(net, e.contract).catch(() => null);
      try { return { contract: e.contract, text: JSON.stringify(Signer.call("decode_event", { metadata: em.json, data: e.data })) }; } catch { return { contract: e.contract, text: e.data }; }
    }));
  }
  return [
    el("h1", {}, `${t("explorer.tx")} ${short(hash)}`),
    card(null, kv([
      [t("common.hash"), el("span", { class: "hash" }, hash)],
      [t("common.status"), el("span", { id: "tx-status" }, statusPill(r.status), r.reason ? ` ${r.reason}` : "")],
      [t("common.height"), r.height != null ? link(`#/block/${net}/${r.height}`, String(r.height), "") : "—"],
      [t("common.sender"), d ? link(`#/account/${net}/${d.sender}`, d.sender) : ""],
      [t("explorer.call"), el("span", { id: "tx-call" }, call)],
      [t("common.gas"), String(r.gas_used)],
      [t("explorer.output"), el("pre", { id: "tx-output" }, output)],
    ])),
    card(t("explorer.events"), events.length
      ? events.map((e) => el("div", { class: "event" }, link(`#/contract/${net}/${e.contract}`, short(e.contract)), el("pre", {}, e.text)))
      : el("p", { class: "muted" }, t("common.none"))),
  ];
};

PAGES.contract = async ([net, address]) => {
  await Signer.load();
  const m = await metaOfContract(net, address);
  if (!m) throw new Error(t("search.none", { q: address }));
  const names = (await registry(net)).filter((r) => r.address === address).map((r) => r.name);
  const history = await rpc("gov_codeHistory", { network: net, contract: address }).catch(() => []);
  const events = await rpc("contract_events", { network: net, contract: address, limit: 50 }).catch(() => []);
  const meta = m.json ? JSON.parse(m.json) : null;
  const decodeEv = (e) => { try { return JSON.stringify(Signer.call("decode_event", { metadata: m.json, data: e.data })); } catch { return e.data; } };
  return [
    el("h1", {}, `${t("explorer.contract")} ${names[0] || short(address)}`),
    card(null, kv([
      ["address", el("span", { class: "hash" }, address)],
      [t("explorer.name"), el("span", { id: "contract-name" }, names.join(", ") || "—")],
      [t("explorer.codehash"), el("span", { class: "hash" }, m.info.code_hash)],
      [t("explorer.deployer"), link(`#/account/${net}/${m.info.deployer}`, m.info.deployer)],
      ["metadata", m.name ? link(`metadata/${m.name}.json`, `${m.name}.json`, "") : t("explorer.nometa")],
    ])),
    meta ? card(t("explorer.messages"), table(["", "", ""], (meta.messages || []).map((x) =>
      el("tr", {}, el("td", {}, el("b", {}, x.name)), el("td", { class: "muted" }, [x.mutates ? "tx" : "query", x.payable ? "payable" : "", x.protected ? "protected" : ""].filter(Boolean).join(" · ")),
        el("td", { class: "muted" }, (x.docs || []).join(" "))))))
      : null,
    card(t("explorer.codehistory"), table([t("common.height"), t("explorer.codehash")], history.map((c) =>
      el("tr", {}, el("td", {}, String(c.height ?? c.at ?? "")), el("td", { class: "hash" }, c.code_hash || JSON.stringify(c)))))),
    card(t("explorer.history"), table([t("common.height"), t("explorer.tx"), t("explorer.events")], events.slice(-50).reverse().map((e) =>
      el("tr", {}, el("td", {}, link(`#/block/${net}/${e.height}`, String(e.height), "")), el("td", {}, link(`#/tx/${net}/${e.tx_hash}`, short(e.tx_hash))),
        el("td", {}, el("code", {}, decodeEv(e))))), { id: "contract-events" })),
  ];
};

PAGES.account = async ([net, address]) => {
  const a = await rpc("state_getAccount", { network: net, account: address });
  const reg = await rpc("gov_account", { network: net, account: address }).catch(() => null);
  const contract = await rpc("contract_info", { network: net, account: address }).catch(() => null);
  return [
    el("h1", {}, t("explorer.account", { a: short(address) })),
    card(null, kv([
      ["address", el("span", { class: "hash" }, address)],
      [t("common.balance"), el("span", { id: "account-balance" }, t("common.yuan", { v: yuan(a.balance) }))],
      [t("common.nonce"), String(a.nonce)],
      [t("explorer.registration"), reg ? `${reg.member} · ${reg.roles.join(", ") || "—"}${reg.suspended ? " · suspended" : ""}${reg.frozen ? " · frozen" : ""}` : "—"],
      [t("explorer.contract"), contract ? link(`#/contract/${net}/${address}`, contract.code_hash) : "—"],
    ])),
  ];
};

// ---------------------------------------------------------------------------------------------
// Governance

PAGES.governance = async () => {
  const net = State.network;
  const [members, proposals, permissions, reg, rules] = await Promise.all([
    rpc("gov_members", { network: net }), rpc("gov_proposals", { network: net }),
    rpc("gov_permissions", { network: net }), registry(net), rpc("gov_rules", { network: net }),
  ]);
  const schedule = await validatorSets(net);
  return [
    el("h1", {}, `${t("gov.title")} · ${net}`),
    card(t("gov.members"), table([t("common.member"), t("gov.region"), t("gov.admins"), t("common.status")], members.map((m) =>
      el("tr", { class: "member" }, el("td", {}, `${m.name} (${m.id})`), el("td", {}, m.region_name || m.region),
        el("td", {}, `${m.admin_threshold} / ${m.admins.length}`), el("td", {}, m.status))), { id: "members" })),
    card(t("gov.proposals"), table(["#", t("gov.kind"), t("gov.memo"), t("gov.approvals"), t("gov.expires"), t("common.status")],
      [...proposals].reverse().map((p) => el("tr", { class: "proposal", dataset: { id: p.id } },
        el("td", {}, `#${p.id}`), el("td", {}, p.kind), el("td", {}, p.memo),
        el("td", { class: "approvals" }, `${p.approving}/${p.needed}: `, p.approvals.map((a) => el("span", { class: "hash approver" }, short(a), " "))),
        el("td", {}, `${t("common.height")} ${p.expires_at}`), el("td", {}, p.status))), { id: "proposals" })),
    card(t("gov.validators"), validatorTable(schedule)),
    card(t("gov.registry"), table([t("explorer.name"), "address"], reg.map((r) =>
      el("tr", {}, el("td", {}, r.name), el("td", {}, link(`#/contract/${net}/${r.address}`, r.address)))), { id: "registry" })),
    card(t("gov.permissions"), table(["action", t("common.roles"), t("common.member")], permissions.map((p) =>
      el("tr", {}, el("td", {}, p.action), el("td", {}, p.roles.join(", ")), el("td", {}, p.members.join(", ")))))),
    card(t("gov.rules"), table(["", ""], rules.thresholds.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))))),
  ];
};

// ---------------------------------------------------------------------------------------------
// Operator: health, peers, mempool, view changes and a finality-latency chart

PAGES.operator = async () => {
  const net = State.network;
  const [health, peers] = await Promise.all([rpc("node_health"), rpc("node_peers")]);
  // The node's own measure (block timestamp → commit here, the metrics' histogram): the mean of
  // each 2-second interval that finalised blocks, and the distribution since the node started.
  const means = [];
  const chart = el("div", { id: "latency-chart" });
  let last = null;
  const sample = (h) => {
    const f = (h.networks.find((n) => n.network === net) || {}).finality;
    if (!f) return;
    if (last && f.count > last.count) means.push(Math.round((f.sum_ms - last.sum_ms) / (f.count - last.count)));
    if (means.length > 60) means.shift();
    last = f;
    chart.replaceChildren(latencyChart(means), latencyBuckets(f));
  };
  sample(health);
  const timer = setInterval(() => rpc("node_health").then(sample, () => {}), 2000);
  State.closers.push(() => clearInterval(timer));
  return [
    el("h1", {}, `${t("op.title")} · ${health.name}`),
    card(t("op.health"), kv([
      ["ok", health.ok ? el("span", { class: "ok" }, "✓") : el("span", { class: "bad" }, "✗")],
      ["id", el("span", { class: "hash" }, health.id)],
      [t("op.peers"), String(health.peers)],
      [t("op.uptime"), `${Math.round(health.uptime_ms / 1000)} s`],
    ]),
    table([t("common.network"), t("common.height"), t("common.view"), t("op.mempool"), t("op.viewchanges"), t("op.dropped")],
      health.networks.map((n) => el("tr", { class: "net-health" }, el("td", {}, n.network), el("td", {}, String(n.height)), el("td", {}, String(n.view)),
        el("td", {}, String(n.mempool)), el("td", {}, String(n.view_changes)), el("td", {}, String(n.dropped_peer_messages)))), { id: "health" })),
    card(t("op.latency"), chart),
    card(t("op.peers"), el("pre", { id: "peers" }, JSON.stringify(peers, null, 1))),
  ];
};

/** The finality histogram since the node started: blocks at or under each bound. */
function latencyBuckets(f) {
  const mean = f.count ? Math.round(f.sum_ms / f.count) : 0;
  return el("p", { class: "muted", id: "latency-buckets" }, t("op.latency.total", { n: f.count, mean }), " · ",
    f.buckets.filter(([, n]) => n > 0).slice(0, 4).map(([le, n]) => `≤${le} ms: ${Math.round((100 * n) / Math.max(1, f.count))}%`).join(" · "));
}

function latencyChart(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", "0 0 600 140");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(100, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 590 + 5},${135 - (v / max) * 125}`).join(" ");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#b3261e");
  line.setAttribute("stroke-width", "2");
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "8");
  label.setAttribute("y", "16");
  label.setAttribute("font-size", "12");
  const sorted = [...values].sort((a, b) => a - b);
  label.textContent = values.length ? `p50 ${sorted[Math.floor(sorted.length / 2)]} ms · max ${sorted[sorted.length - 1]} ms · ${values.length}` : "…";
  svg.append(line, label);
  return svg;
}

// ---------------------------------------------------------------------------------------------
// Auditor: the access log (its hash chain checked here), receipt proofs, a chain check

/**
 * Checks the access log's hash chain here: each entry's hash is the network's hash of its raw
 * bytes, and names the hash of the entry before. Returns the entry where it breaks, or null.
 */
function logBreak(entries) {
  if (!entries.length) return null;
  const suites = ["ed25519+blake2b", "sm2+sm3"];
  const suite = suites.find((x) => Signer.call("hash", { data: entries[0].raw, suite: x }).hash === entries[0].hash);
  if (!suite) return entries[0];
  return entries.find((e, i) => Signer.call("hash", { data: e.raw, suite }).hash !== e.hash || (i > 0 && e.prev !== entries[i - 1].hash)) || null;
}

PAGES.auditor = async () => {
  await Signer.load();
  const net = State.network;
  const log = await rpc("audit_accessLog", { network: net, limit: 200 });
  const broken = logBreak(log.entries);
  const proofTx = el("input", { id: "proof-tx", size: 70, placeholder: "0x…" });
  const proofOut = el("div", { id: "proof-out" });
  const replayOut = el("div", { id: "replay-out" });
  const N = 50;
  return [
    el("h1", {}, `${t("audit.title")} · ${net}`),
    card(t("audit.log"),
      broken
        ? el("p", { class: "bad", id: "log-chain" }, t("audit.chain.bad", { seq: broken.seq }))
        : el("p", { class: "ok", id: "log-chain" }, t("audit.chain", { n: log.entries.length, head: short(log.head) })),
      table(["seq", t("common.time"), t("audit.reader"), t("explorer.contract"), t("audit.decision")], log.entries.map((e) =>
        el("tr", { class: "access" }, el("td", {}, String(e.seq)), el("td", {}, when(e.time_ms)), el("td", { class: "hash" }, short(e.reader || "—")),
          el("td", { class: "hash" }, short(e.contract)), el("td", { class: e.decision === "allowed" ? "ok" : "bad" }, t(`audit.${e.decision}`), e.reason ? `: ${e.reason}` : ""))), { id: "access-log" })),
    card(t("audit.proof"),
      el("div", { class: "row" }, el("label", {}, t("audit.proof.tx")), proofTx,
        el("button", { id: "proof-get", onclick: async () => {
          try {
            const p = await downloadProof(net, proofTx.value.trim());
            proofOut.replaceChildren(el("p", { class: "ok", id: "proof-done" }, `${t("common.height")} ${p.height}, #${p.index}/${p.count}`),
              el("p", { class: "muted" }, t("audit.proof.how")));
          } catch (e) { proofOut.replaceChildren(el("p", { class: "bad" }, e.message)); }
        } }, t("audit.proof.get"))), proofOut),
    card(t("audit.replay"), el("p", { class: "muted" }, t("audit.replay.how")),
      el("button", { id: "replay-run", onclick: () => checkChain(net, N, replayOut) }, t("audit.replay.run", { n: N })), replayOut),
  ];
};

/**
 * Downloads a transaction's receipt proof (`tx_getProof`: its block's certificate, the
 * transaction and receipt with their branches): what `jjj audit verify-receipt` checks offline.
 */
async function downloadProof(net, hash) {
  const p = await rpc("tx_getProof", { network: net, hash });
  if (!p) throw new Error(t("search.none", { q: hash }));
  const blob = new Blob([JSON.stringify(p, null, 1)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `receipt-proof-${p.height}-${p.index}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  return p;
}

/**
 * Walks back from the head, checking each block as a light client does, in the page: its
 * commit certificate against the validator set in force at its height (every signature, by
 * wallet.wasm with the light client's own code: `verify_block`) and the parent-hash chain.
 */
async function checkChain(net, n, out) {
  await Signer.load();
  const head = await rpc("chain_getFinalizedHead", { network: net });
  let child = null;
  let signatures = 0;
  const from = Math.max(1, head.height - n + 1);
  for (let h = head.height; h >= from; h--) {
    out.replaceChildren(el("p", { class: "muted", id: "replay-progress" }, `${head.height - h + 1} / ${head.height - from + 1}`));
    const b = await rpc("chain_getBlock", { network: net, height: h, raw: true });
    const set = (await validatorSets(net, h - 1)).filter((s) => s.from <= h).pop();
    let problem = null;
    try {
      if (!b || !b.raw_certificate) throw new Error("no certificate");
      if (!set) throw new Error("no validator set known for this height");
      const v = Signer.call("verify_block", { header: b.raw_header, certificate: b.raw_certificate, validators: set.validators });
      signatures += v.signers.length;
      if (child && child.parent_hash !== b.header.hash) throw new Error("the next block names another parent");
    } catch (e) {
      problem = e.message;
    }
    if (problem) {
      out.replaceChildren(el("p", { class: "bad", id: "replay-verdict" }, t("audit.replay.bad", { h, e: problem })));
      out.scrollIntoView({ block: "center" });
      return;
    }
    child = b.header;
  }
  out.replaceChildren(el("p", { class: "ok", id: "replay-verdict" }, t("audit.replay.ok", { n: head.height - from + 1, s: signatures })));
  out.scrollIntoView({ block: "center" });
}

// ---------------------------------------------------------------------------------------------
// Search: a height, a block or transaction hash, an account or contract, an official name

async function search(q) {
  const net = State.network;
  q = q.trim();
  if (/^\d+$/.test(q)) return go(`#/block/${net}/${q}`);
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    const hash = q.toLowerCase();
    if (await rpc("tx_receipt", { network: net, hash }).catch(() => null)) return go(`#/tx/${net}/${hash}`);
    if (await rpc("chain_getBlock", { network: net, hash }).catch(() => null)) return go(`#/block/${net}/${hash}`);
    if (await rpc("contract_info", { network: net, account: hash }).catch(() => null)) return go(`#/contract/${net}/${hash}`);
    return go(`#/account/${net}/${hash}`);
  }
  const named = await officialAddress(net, q).catch(() => null);
  if (named) return go(`#/contract/${net}/${named}`);
  toast(t("search.none", { q }));
}

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  applyI18n(document);
  State.health = await rpc("node_health");
  State.networks = State.health.networks.map((n) => n.network);
  const wanted = new URLSearchParams(location.search).get("network") || localStorage.getItem("jjj.network");
  State.network = State.networks.includes(wanted) ? wanted : State.networks[0];
  const sel = document.getElementById("network");
  sel.replaceChildren(...State.networks.map((n) => el("option", { value: n, selected: n === State.network }, n)));
  sel.onchange = () => { State.network = sel.value; localStorage.setItem("jjj.network", sel.value); route(); };
  document.getElementById("node-name").textContent = State.health.name;
  document.getElementById("lang").onclick = () => { setLang(LANG === "zh" ? "en" : "zh"); applyI18n(document); route(); };
  document.getElementById("search-form").onsubmit = (e) => { e.preventDefault(); search(document.getElementById("search").value); };
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((e) => {
  document.getElementById("main").replaceChildren(el("p", { class: "bad", id: "page-error" }, t("common.error", { e: e.message })));
});
