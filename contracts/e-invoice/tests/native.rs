//! Native tests of electronic invoices on the mock host: the tax bureau authorises a Beijing
//! utility as issuer, it invoices a Hebei company, whose finance claims the invoice once; double
//! reimbursement (by the same or another organisation), reversal after a claim, strangers and
//! bad inputs refused; a reversal (红冲); the read policy.
use e_invoice::{msg, EInvoice, Invoice, InvoiceState, Issuer, FINANCE, TAX_BUREAU};
use jjj_sdk::testing::TestEnv;
use jjj_sdk::{roles, AccountId};

struct World {
    env: TestEnv,
    c: AccountId,
    bureau: AccountId,
    issuer: AccountId,
    buyer: AccountId,
    finance: AccountId,
    other_finance: AccountId,
    stranger: AccountId,
    auditor: AccountId,
}

fn world() -> World {
    let env = TestEnv::new();
    let deployer = TestEnv::account("deployer");
    let w = World {
        c: env.deploy(EInvoice::ENTRY, &deployer, 0, msg::new()).expect("deploy"),
        bureau: TestEnv::account("beijing-tax-bureau"),
        issuer: TestEnv::account("beijing-water"),
        buyer: TestEnv::account("hebei-steel-procurement"),
        finance: TestEnv::account("hebei-steel-finance"),
        other_finance: TestEnv::account("tianjin-port-finance"),
        stranger: TestEnv::account("not-a-member"),
        auditor: TestEnv::account("auditor"),
        env,
    };
    w.env.register(&w.bureau, "beijing", &[TAX_BUREAU]);
    w.env.register(&w.issuer, "beijing", &[]);
    w.env.register(&w.buyer, "hebei-steel", &[]);
    w.env.register(&w.finance, "hebei-steel", &[FINANCE]);
    w.env.register(&w.other_finance, "tianjin-port", &[FINANCE]);
    w.env.register(&w.auditor, "tianjin", &[roles::AUDITOR]);
    w
}

impl World {
    fn authorise(&self) {
        self.env
            .call(&self.bureau, &self.c, 0, msg::authorise_issuer(self.issuer, "北京自来水".into()))
            .expect("authorise");
    }
    fn issue(&self, amount: u64) -> Result<u64, String> {
        let input = msg::issue(self.buyer, amount, amount / 10, "生产用水 1200 吨".into(), "2026-11".into());
        self.env.call(&self.issuer, &self.c, 0, input).map(|o| jjj_sdk::codec::Decode::decode(&mut &o[..]).expect("id"))
    }
    fn read(&self, who: &AccountId, id: u64) -> Result<Option<Invoice>, String> {
        self.env.call_decode(who, &self.c, 0, msg::invoice(id))
    }
    fn err(&self, who: &AccountId, input: Vec<u8>) -> String {
        self.env.call(who, &self.c, 0, input).expect_err("must be refused")
    }
}

fn assert_contains(err: &str, needle: &str) {
    assert!(err.contains(needle), "expected {needle:?} in {err:?}");
}

#[test]
fn an_invoice_is_issued_claimed_once_and_another_reversed() {
    let w = world();
    w.authorise();
    let issuer: Option<Issuer> = w.env.call_decode(&w.stranger, &w.c, 0, msg::issuer(w.issuer)).expect("query");
    assert!(issuer.is_some_and(|i| i.active && i.name == "北京自来水"));
    w.env.set_block(10, 5_000);
    let id = w.issue(11_000).expect("issue");
    let i = w.read(&w.buyer, id).expect("read").expect("exists");
    assert_eq!((i.amount, i.tax, i.period.as_str(), i.state.clone()), (11_000, 1_100, "2026-11", InvoiceState::Issued));
    // The buyer's finance claims it; then nobody again.
    w.env.set_block(12, 6_000);
    w.env.call(&w.finance, &w.c, 0, msg::claim(id)).expect("claim");
    let i = w.read(&w.finance, id).expect("read").expect("exists");
    assert_eq!(i.state, InvoiceState::Claimed { by: w.finance, member: "hebei-steel".into(), at: 6_000, height: 12 });
    assert_contains(&w.err(&w.buyer, msg::claim(id)), "double reimbursement: invoice #1 was claimed already by");
    assert_contains(&w.err(&w.other_finance, msg::claim(id)), "does not claim for buyer");
    assert_contains(&w.err(&w.issuer, msg::reverse(id, "开错".into())), "is claimed for reimbursement");
    // Another invoice, reversed by its issuer (红冲): a red-letter invoice, the original unclaimable.
    let second = w.issue(2_000).expect("issue");
    let red: u64 = w.env.call_decode(&w.issuer, &w.c, 0, msg::reverse(second, "金额开错".into())).expect("reverse");
    let r = w.read(&w.bureau, red).expect("read").expect("red");
    assert_eq!((r.reverses, r.amount), (Some(second), 2_000));
    assert!(
        matches!(w.read(&w.bureau, second).expect("read").expect("x").state, InvoiceState::Reversed { red: r, .. } if r == red)
    );
    assert_contains(&w.err(&w.buyer, msg::claim(second)), "was reversed by red-letter invoice");
    assert_contains(&w.err(&w.buyer, msg::claim(red)), "is a red-letter invoice");
    assert_contains(&w.err(&w.issuer, msg::reverse(second, "again".into())), "reversed already");
    // By period: the issuer's three (one red), the buyer's three.
    let mine: Vec<Invoice> =
        w.env.call_decode(&w.issuer, &w.c, 0, msg::by_issuer(w.issuer, "2026-11".into(), 0, 10)).expect("q");
    assert_eq!(mine.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2, 3]);
    let theirs: Vec<Invoice> =
        w.env.call_decode(&w.finance, &w.c, 0, msg::by_buyer(w.buyer, "2026-11".into(), 0, 10)).expect("q");
    assert_eq!(theirs.len(), 3);
    let none: Vec<Invoice> =
        w.env.call_decode(&w.bureau, &w.c, 0, msg::by_buyer(w.buyer, "2026-10".into(), 0, 10)).expect("q");
    assert!(none.is_empty());
}

#[test]
fn only_the_bureau_authorises_only_issuers_issue_and_invoices_are_read_by_their_parties() {
    let w = world();
    assert_contains(
        &w.err(&w.issuer, msg::authorise_issuer(w.issuer, "自封".into())),
        "only the tax bureau authorises",
    );
    assert_contains(&w.issue(100).expect_err("not yet"), "is not an issuer the tax bureau authorised");
    w.authorise();
    let bad = |amount: u64, tax: u64, items: &str, period: &str| {
        w.err(&w.issuer, msg::issue(w.buyer, amount, tax, items.into(), period.into()))
    };
    assert_contains(&bad(0, 0, "水", "2026-11"), "above zero");
    assert_contains(&bad(10, 11, "水", "2026-11"), "includes its tax");
    assert_contains(&bad(10, 1, "", "2026-11"), "1 to 256 bytes");
    for period in ["2026-13", "2026-1", "26-11-01", "2026/11", "２０２６-11"] {
        assert_contains(&bad(10, 1, "水", period), "a period is YYYY-MM");
    }
    let id = w.issue(500).expect("issue");
    // The read policy: parties, the buyer's finance, the bureau and auditors; nobody else.
    for who in [w.issuer, w.buyer, w.finance, w.bureau, w.auditor] {
        assert!(w.read(&who, id).expect("read").is_some());
    }
    for who in [w.other_finance, w.stranger] {
        assert_contains(&w.read(&who, id).expect_err("refused"), "an invoice is read by its issuer");
    }
    assert_contains(
        &w.env.call(&w.stranger, &w.c, 0, msg::by_issuer(w.issuer, "2026-11".into(), 0, 10)).expect_err("refused"),
        "read by the issuer",
    );
    // Revoked: issues no more; its invoice stays and is still claimed.
    w.env.call(&w.bureau, &w.c, 0, msg::revoke_issuer(w.issuer)).expect("revoke");
    assert_contains(&w.issue(100).expect_err("revoked"), "is not an issuer");
    w.env.call(&w.buyer, &w.c, 0, msg::claim(id)).expect("claim");
    assert_contains(&w.err(&w.stranger, msg::claim(9)), "no invoice #9");
}

#[test]
fn a_receipt_source_the_bureau_authorised_has_each_receipt_invoiced_once() {
    let w = world();
    w.authorise();
    // The source is a contract (utility-bills) in production; here an account stands in for it.
    let source = TestEnv::account("utility-bills-contract");
    let from = |reference: u64| {
        msg::issue_from_source(w.issuer, w.buyer, 4_280, 0, "water 2026-11".into(), "2026-11".into(), reference)
    };
    assert_contains(&w.err(&source, from(7)), "is not a receipt source the tax bureau authorised");
    assert_contains(&w.err(&w.issuer, msg::authorise_source(source, true)), "only the tax bureau authorises");
    w.env.call(&w.bureau, &w.c, 0, msg::authorise_source(source, true)).expect("authorise");
    let id: u64 = w.env.call_decode(&source, &w.c, 0, from(7)).expect("invoiced");
    let i = w.read(&w.buyer, id).expect("read").expect("exists");
    assert_eq!((i.issuer, i.buyer, i.amount), (w.issuer, w.buyer, 4_280));
    assert_contains(&w.err(&source, from(7)), &format!("receipt 7 of {source} is invoiced already, as invoice #{id}"));
    let link: Option<(AccountId, u64)> = w.env.call_decode(&w.buyer, &w.c, 0, msg::source_of(id)).expect("link");
    assert_eq!(link, Some((source, 7)));
    assert_contains(&w.err(&w.stranger, msg::source_of(id)), "an invoice is read by");
    // The source vouches for its issuer, but the issuer must still be one the bureau authorised.
    let other = msg::issue_from_source(w.stranger, w.buyer, 1, 0, "x".into(), "2026-11".into(), 8);
    assert_contains(&w.err(&source, other), "is not an issuer the tax bureau authorised");
    w.env.call(&w.bureau, &w.c, 0, msg::authorise_source(source, false)).expect("withdraw");
    assert_contains(&w.err(&source, from(9)), "is not a receipt source");
}
