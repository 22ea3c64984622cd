// Chinese first, English switchable: every text the pages show comes from here.
"use strict";

const MESSAGES = {
  zh: {
    "nav.wallet": "钱包", "nav.explorer": "浏览器", "nav.governance": "治理", "nav.operator": "运维", "nav.auditor": "审计",
    "search.placeholder": "高度 / 哈希 / 地址 / 合约名", "search.go": "搜索", "search.none": "没有找到：{q}",
    "footer": "京津冀区块链联盟 · 数据来自本节点的 JSON-RPC",
    "lang.other": "English",
    "common.loading": "加载中…", "common.error": "出错了：{e}", "common.none": "无", "common.yes": "是", "common.no": "否",
    "common.height": "高度", "common.hash": "哈希", "common.time": "时间", "common.proposer": "出块者", "common.txs": "交易数",
    "common.sender": "发送者", "common.status": "状态", "common.gas": "Gas", "common.network": "网络",
    "common.account": "账户", "common.balance": "余额", "common.nonce": "Nonce", "common.member": "成员", "common.roles": "角色",
    "common.yuan": "{v} 元", "common.view": "视图", "common.signers": "签名者",
    "wallet.title": "我的钱包", "wallet.nokey": "这个浏览器里还没有密钥。导入 jjj 密钥文件的内容，或者新建一个。",
    "wallet.keytext": "密钥文件内容", "wallet.passphrase": "口令（加密保存在本浏览器）", "wallet.import": "导入",
    "wallet.create": "新建密钥", "wallet.unlock": "解锁", "wallet.locked": "密钥已加密保存。输入口令解锁。",
    "wallet.badpass": "口令不对，或者保存的密钥已损坏", "wallet.export": "导出备份", "wallet.forget": "从本浏览器删除",
    "wallet.forget.confirm": "删除后只能用备份恢复。确定删除？", "wallet.lock": "锁定",
    "wallet.exported": "备份文件已下载：请离线保存", "wallet.created": "新密钥已创建：先导出备份，再请成员单位登记这个账户",
    "wallet.bills": "我的账单", "wallet.bills.none": "{net}：没有账单", "wallet.bills.noreg": "{net}：没有登记 utility-bills 合约",
    "wallet.provider": "收费单位", "wallet.period": "账期", "wallet.amount": "金额", "wallet.due": "到期日",
    "wallet.latefee": "滞纳金", "wallet.total": "应付", "wallet.pay": "缴费", "wallet.paid": "已缴", "wallet.unpaid": "未缴",
    "wallet.history": "缴费记录", "wallet.history.none": "还没有缴费记录",
    "wallet.confirm.title": "确认缴费", "wallet.confirm.bill": "账单 #{id}：{provider}，{period}",
    "wallet.confirm.amount": "支付金额（含滞纳金 {fee} 元）", "wallet.confirm.gas": "预估 Gas（试运行）",
    "wallet.confirm.limit": "Gas 上限", "wallet.confirm.sign": "签名并发送", "wallet.confirm.cancel": "取消",
    "wallet.sending": "已签名，正在发送…", "wallet.final": "已最终确认：区块 {h}，交易 {tx}",
    "wallet.failed": "交易失败：{e}", "wallet.receipt": "回执", "wallet.refund": "多付退回", "wallet.block": "所在区块",
    "wallet.notregistered": "这个账户还没有被任何成员单位登记，不能发送交易",
    "explorer.title": "区块浏览器", "explorer.networks": "网络与验证者", "explorer.heads": "最新最终区块（实时）",
    "explorer.validators": "验证者", "explorer.validator.this": "本节点验证", "explorer.block": "区块 {h}",
    "explorer.certificate": "最终性证书", "explorer.cert.view": "视图 {v} 中由 {n} 个验证者签名",
    "explorer.tx": "交易", "explorer.call": "调用", "explorer.events": "事件", "explorer.output": "输出",
    "explorer.receipt": "回执", "explorer.contract": "合约", "explorer.codehash": "代码哈希", "explorer.name": "官方名称",
    "explorer.deployer": "部署者", "explorer.codehistory": "代码版本", "explorer.messages": "方法", "explorer.history": "调用与事件",
    "explorer.account": "账户 {a}", "explorer.registration": "登记", "explorer.prev": "上一块", "explorer.next": "下一块",
    "explorer.nometa": "没有这个合约的元数据：显示原始字节", "explorer.protected": "受保护：只有有权限的读者能看",
    "gov.title": "联盟治理", "gov.members": "成员单位", "gov.proposals": "提案", "gov.permissions": "权限",
    "gov.registry": "官方合约", "gov.rules": "门槛", "gov.region": "地区", "gov.admins": "管理员", "gov.approvals": "批准",
    "gov.expires": "到期", "gov.kind": "类型", "gov.memo": "说明", "gov.validators": "验证者集合与历史",
    "gov.validators.from": "自高度 {h} 起",
    "op.title": "节点运维", "op.health": "健康状况", "op.peers": "对等节点", "op.mempool": "交易池", "op.viewchanges": "视图切换",
    "op.latency": "最终确认延迟（节点指标：区块时间戳 → 本节点提交，每 2 秒区间的平均毫秒数）", "op.latency.total": "自节点启动：{n} 个区块，平均 {mean} 毫秒", "op.uptime": "运行时间", "op.dropped": "丢弃的对等消息",
    "audit.title": "审计", "audit.log": "受保护读取的访问日志", "audit.reader": "读者", "audit.decision": "结果",
    "audit.chain": "日志链：{n} 条，链头 {head}；每条的哈希和前一条的链接都已在本页重新计算核对", "audit.chain.bad": "日志链断开：第 {seq} 条",
    "audit.allowed": "允许", "audit.denied": "拒绝（读取策略）", "audit.refused": "拒绝（请求无效）",
    "audit.proof": "回执证明", "audit.proof.tx": "交易哈希", "audit.proof.get": "下载证明",
    "audit.proof.how": "任何人都可以离线验证：jjj audit verify-receipt 文件 --genesis 创世文件",
    "audit.replay": "重放", "audit.replay.how": "在本页像轻客户端一样校验：每个区块的证书按当时的验证者集合逐个验签（wallet.wasm，与 jjj 同一代码），以及父哈希链；完整重放（重新执行每笔交易）请运行 jjj audit replay",
    "audit.replay.run": "校验最近 {n} 个区块", "audit.replay.ok": "{n} 个区块：父哈希链完整，{s} 个证书签名全部有效，且每个区块都达到法定人数",
    "audit.replay.bad": "高度 {h}：{e}",
  },
  en: {
    "nav.wallet": "Wallet", "nav.explorer": "Explorer", "nav.governance": "Governance", "nav.operator": "Operator", "nav.auditor": "Auditor",
    "search.placeholder": "height / hash / address / contract name", "search.go": "Search", "search.none": "Nothing found: {q}",
    "footer": "Beijing-Tianjin-Hebei blockchain alliance · data from this node's JSON-RPC",
    "lang.other": "中文",
    "common.loading": "Loading…", "common.error": "Error: {e}", "common.none": "none", "common.yes": "yes", "common.no": "no",
    "common.height": "Height", "common.hash": "Hash", "common.time": "Time", "common.proposer": "Proposer", "common.txs": "Txs",
    "common.sender": "Sender", "common.status": "Status", "common.gas": "Gas", "common.network": "Network",
    "common.account": "Account", "common.balance": "Balance", "common.nonce": "Nonce", "common.member": "Member", "common.roles": "Roles",
    "common.yuan": "{v} yuan", "common.view": "View", "common.signers": "Signers",
    "wallet.title": "My wallet", "wallet.nokey": "This browser holds no key yet. Import the content of a jjj key file, or create one.",
    "wallet.keytext": "Key file content", "wallet.passphrase": "Passphrase (kept encrypted in this browser)", "wallet.import": "Import",
    "wallet.create": "Create a key", "wallet.unlock": "Unlock", "wallet.locked": "Your key is stored encrypted. Enter the passphrase to unlock it.",
    "wallet.badpass": "Wrong passphrase, or the stored key is damaged", "wallet.export": "Export a backup", "wallet.forget": "Remove from this browser",
    "wallet.forget.confirm": "Only a backup restores it afterwards. Remove it?", "wallet.lock": "Lock",
    "wallet.exported": "Backup downloaded: keep it offline", "wallet.created": "New key created: export a backup, then ask a member to register the account",
    "wallet.bills": "My bills", "wallet.bills.none": "{net}: no bills", "wallet.bills.noreg": "{net}: no utility-bills contract registered",
    "wallet.provider": "Provider", "wallet.period": "Period", "wallet.amount": "Amount", "wallet.due": "Due",
    "wallet.latefee": "Late fee", "wallet.total": "To pay", "wallet.pay": "Pay", "wallet.paid": "paid", "wallet.unpaid": "unpaid",
    "wallet.history": "Payment history", "wallet.history.none": "No payments yet",
    "wallet.confirm.title": "Confirm the payment", "wallet.confirm.bill": "Bill #{id}: {provider}, {period}",
    "wallet.confirm.amount": "Amount paid (late fee {fee} yuan included)", "wallet.confirm.gas": "Gas used (dry run)",
    "wallet.confirm.limit": "Gas limit", "wallet.confirm.sign": "Sign and send", "wallet.confirm.cancel": "Cancel",
    "wallet.sending": "Signed, sending…", "wallet.final": "Final in block {h}, transaction {tx}",
    "wallet.failed": "The transaction failed: {e}", "wallet.receipt": "Receipt", "wallet.refund": "Overpayment refunded", "wallet.block": "Block",
    "wallet.notregistered": "No member has registered this account yet: it cannot send transactions",
    "explorer.title": "Explorer", "explorer.networks": "Networks and validators", "explorer.heads": "Latest final blocks (live)",
    "explorer.validators": "Validators", "explorer.validator.this": "this node validates", "explorer.block": "Block {h}",
    "explorer.certificate": "Commit certificate", "explorer.cert.view": "signed by {n} validators in view {v}",
    "explorer.tx": "Transaction", "explorer.call": "Call", "explorer.events": "Events", "explorer.output": "Output",
    "explorer.receipt": "Receipt", "explorer.contract": "Contract", "explorer.codehash": "Code hash", "explorer.name": "Official name",
    "explorer.deployer": "Deployer", "explorer.codehistory": "Code versions", "explorer.messages": "Messages", "explorer.history": "Calls and events",
    "explorer.account": "Account {a}", "explorer.registration": "Registration", "explorer.prev": "Previous", "explorer.next": "Next",
    "explorer.nometa": "No metadata for this contract: raw bytes shown", "explorer.protected": "Protected: only readers with the right see it",
    "gov.title": "Alliance governance", "gov.members": "Members", "gov.proposals": "Proposals", "gov.permissions": "Permissions",
    "gov.registry": "Official contracts", "gov.rules": "Thresholds", "gov.region": "Region", "gov.admins": "Admins", "gov.approvals": "Approvals",
    "gov.expires": "Expires", "gov.kind": "Kind", "gov.memo": "Memo", "gov.validators": "Validator set and its history",
    "gov.validators.from": "from height {h}",
    "op.title": "Node operation", "op.health": "Health", "op.peers": "Peers", "op.mempool": "Mempool", "op.viewchanges": "View changes",
    "op.latency": "Finality latency (the node's metric: block timestamp → commit here, mean ms per 2-second interval)", "op.latency.total": "since the node started: {n} blocks, {mean} ms mean", "op.uptime": "Uptime", "op.dropped": "Dropped peer messages",
    "audit.title": "Audit", "audit.log": "Access log of protected reads", "audit.reader": "Reader", "audit.decision": "Decision",
    "audit.chain": "Log chain: {n} entries, head {head}; every entry's hash and its link to the one before recomputed here and checked", "audit.chain.bad": "The log chain breaks at entry {seq}",
    "audit.allowed": "allowed", "audit.denied": "denied (read policy)", "audit.refused": "refused (invalid request)",
    "audit.proof": "Receipt proof", "audit.proof.tx": "Transaction hash", "audit.proof.get": "Download the proof",
    "audit.proof.how": "Anyone verifies it offline: jjj audit verify-receipt FILE --genesis GENESIS",
    "audit.replay": "Replay", "audit.replay.how": "This page checks as a light client does: every certificate signature against the validator set of its height (wallet.wasm, jjj's own code) and the parent-hash chain; a full replay that re-executes every transaction is jjj audit replay",
    "audit.replay.run": "Check the last {n} blocks", "audit.replay.ok": "{n} blocks: the parent-hash chain holds and all {s} certificate signatures verify, a quorum in every block",
    "audit.replay.bad": "height {h}: {e}",
  },
};

let LANG = localStorage.getItem("jjj.lang") === "en" ? "en" : "zh";

function t(key, vars) {
  const s = MESSAGES[LANG][key] ?? MESSAGES.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : `{${k}}`));
}

function applyI18n(root) {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const lang = document.getElementById("lang");
  if (lang) lang.textContent = t("lang.other");
}

function setLang(lang) {
  LANG = lang;
  localStorage.setItem("jjj.lang", lang);
}
