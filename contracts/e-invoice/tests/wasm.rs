//! Electronic invoices as real wasm on the runtime's test chain: issued by an authorised Beijing
//! utility to a Hebei company, claimed once by its finance, a second claim from another
//! organisation refused as double reimbursement; a reversal; strangers refused.
use e_invoice::{msg, Invoice, InvoiceEvent, InvoiceState, FINANCE, TAX_BUREAU};
use jjj_primitives::gov::Region;
use jjj_primitives::{AccountId, Receipt};
use jjj_sdk::codec::Decode;
use jjj_testkit::{contract_wasm, TestAccount, TestChain};

const FUNDS: u64 = 10_000_000;

fn events(r: &Receipt) -> Vec<InvoiceEvent> {
    r.events.iter().map(|e| InvoiceEvent::decode(&mut &e.data[..]).expect("event decodes")).collect()
}

struct World {
    chain: TestChain,
    c: AccountId,
    bureau: TestAccount,
    issuer: TestAccount,
    buyer: TestAccount,
    finance: TestAccount,
    other_finance: TestAccount,
}

fn world() -> World {
    let mut chain = TestChain::new();
    let deployer = chain.account("deployer", FUNDS);
    let bureau = chain.account("beijing-tax-bureau", FUNDS);
    let issuer = chain.account("beijing-water", FUNDS);
    let buyer = chain.account("hebei-steel-procurement", FUNDS);
    let finance = chain.account("hebei-steel-finance", FUNDS);
    let other_finance = chain.account("tianjin-port-finance", FUNDS);
    chain.set_roles(&bureau.id, &[TAX_BUREAU]);
    chain.set_member(&buyer.id, "hebei-steel", Region::Hebei);
    chain.set_member(&finance.id, "hebei-steel", Region::Hebei);
    chain.set_roles(&finance.id, &[FINANCE]);
    chain.set_member(&other_finance.id, "tianjin-port", Region::Tianjin);
    chain.set_roles(&other_finance.id, &[FINANCE]);
    let code = chain.upload(&deployer, &contract_wasm("e_invoice")).expect("upload");
    let c = chain.instantiate(&deployer, code, 0, msg::new()).expect("instantiate");
    World { chain, c, bureau, issuer, buyer, finance, other_finance }
}

#[test]
fn an_invoice_is_claimed_once_across_organisations_as_wasm() {
    let World { mut chain, c, bureau, issuer, buyer, finance, other_finance } = world();
    chain.call_ok::<()>(&bureau, &c, 0, msg::authorise_issuer(issuer.id, "北京自来水".into()));
    let r =
        chain.call(&issuer, &c, 0, msg::issue(buyer.id, 11_000, 1_100, "生产用水 1200 吨".into(), "2026-11".into()));
    assert!(r.is_success(), "{:?}", r.reason());
    let id = u64::decode(&mut &r.output[..]).expect("id");
    assert_eq!(
        events(&r),
        [InvoiceEvent::Issued { id, issuer: issuer.id, buyer: buyer.id, amount: 11_000, period: "2026-11".into() }]
    );
    chain.call_ok::<()>(&finance, &c, 0, msg::claim(id));
    let e = chain.call_err(&buyer, &c, 0, msg::claim(id));
    assert!(e.contains("double reimbursement: invoice #1 was claimed already by"), "{e}");
    let e = chain.call_err(&other_finance, &c, 0, msg::claim(id));
    assert!(e.contains("does not claim for buyer"), "{e}");
    let i: Option<Invoice> = chain.query(&finance.id, &c, msg::invoice(id)).expect("query");
    assert!(matches!(i.map(|i| i.state), Some(InvoiceState::Claimed { member, .. }) if member == "hebei-steel"));
    // Protected: a stranger's signed read is refused by the policy; an unsigned one by the chain.
    let e = chain.query::<Option<Invoice>>(&other_finance.id, &c, msg::invoice(id)).expect_err("refused");
    assert!(e.contains("an invoice is read by its issuer"), "{e}");
    assert!(chain.query_unsigned::<Option<Invoice>>(&buyer.id, &c, msg::invoice(id)).is_err());

    let second: u64 = chain.call_ok(&issuer, &c, 0, msg::issue(buyer.id, 500, 50, "水".into(), "2026-11".into()));
    let r = chain.call(&issuer, &c, 0, msg::reverse(second, "金额开错".into()));
    assert!(r.is_success(), "{:?}", r.reason());
    let red = u64::decode(&mut &r.output[..]).expect("red id");
    assert_eq!(events(&r), [InvoiceEvent::Reversed { id: second, red, reason: "金额开错".into() }]);
    let e = chain.call_err(&finance, &c, 0, msg::claim(second));
    assert!(e.contains("was reversed by red-letter invoice"), "{e}");
    let e = chain.call_err(&buyer, &c, 0, msg::issue(buyer.id, 1, 0, "x".into(), "2026-11".into()));
    assert!(e.contains("is not an issuer the tax bureau authorised"), "{e}");
}
