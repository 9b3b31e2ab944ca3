//! CSV tag files: `address,label,category,source`.

use sleuth_tags::{TagError, TagFormat};

use crate::common::{snapshot, store};

const GOOD: &str = "address,label,category,source\n\
    1VayNert3x1KzbpzMGt2qdqrAThiRovi8,DeepBit.net,miner,https://www.walletexplorer.com/\n\
    bc1q92md7868uun8vplp9te0vaecmxyc5rrphdyvxg,\"Phisher, electrum\",,case 2024-17\n\
    TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq,WANG Mingming,user,OFAC SDN 45404\n";

#[test]
fn csv_tags_import_with_currency_from_the_address() {
    let (dir, mut store) = store();
    let path = dir.path().join("case.csv");
    std::fs::write(&path, GOOD).unwrap();
    let report = store.import(&path, TagFormat::Csv).unwrap();
    assert_eq!((report.source.as_str(), report.tags), ("csv:case.csv", 3));
    let Ok([deepbit]) = <[_; 1]>::try_from(store.tags_for("1VayNert3x1KzbpzMGt2qdqrAThiRovi8").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((deepbit.label.as_str(), deepbit.category.as_deref()), ("DeepBit.net", Some("miner")));
    assert_eq!((deepbit.currency.as_str(), deepbit.confidence.as_deref()), ("BTC", None));
    let Ok([phisher]) = <[_; 1]>::try_from(store.tags_for("BC1Q92MD7868UUN8VPLP9TE0VAECMXYC5RRPHDYVXG").unwrap())
    else {
        panic!("one tag")
    };
    assert_eq!((phisher.label.as_str(), phisher.category.as_deref()), ("Phisher, electrum", None));
    let Ok([tron]) = <[_; 1]>::try_from(store.tags_for("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((tron.currency.as_str(), tron.chain.as_str()), ("TRX", "tron"));

    // Again: same state, same bytes.
    let before = snapshot(&dir.path().join("tags"));
    assert!(store.import(&path, TagFormat::Csv).unwrap().replaced);
    assert_eq!(snapshot(&dir.path().join("tags")), before);
}

#[test]
fn a_bad_line_names_itself_and_imports_nothing() {
    let (dir, mut store) = store();
    let path = dir.path().join("case.csv");
    std::fs::write(&path, format!("{GOOD}1BoatSLRHtKNngkdXEeobR76b53LETtpyT,x,exchanges,s\n")).unwrap();
    let err = store.import(&path, TagFormat::Csv).unwrap_err();
    assert!(matches!(err, TagError::Invalid { line: 5, .. }), "{err}");
    assert!(err.to_string().starts_with(&format!("{}:5: unknown category \"exchanges\"", path.display())), "{err}");
    assert!(store.is_empty());
    assert!(snapshot(&dir.path().join("tags")).is_empty());

    std::fs::write(&path, format!("{GOOD}1BoatSLRHtKNngkdXEeobR76b53LETtpyT,x,s\n")).unwrap();
    let err = store.import(&path, TagFormat::Csv).unwrap_err();
    assert!(matches!(err, TagError::Syntax { line: 5, .. }), "{err}");
    assert!(store.is_empty());
}
