//! Every real GraphSense TagPack imports, with the counts of the shared data's README.

use std::collections::BTreeMap;

use sleuth_tags::{TagFormat, TagStore};

use crate::common::{everything_shared, packs, shared, store};

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn every_real_pack_imports_with_the_readme_counts() {
    // (file, tags = `address:` lines) from the README's table.
    let expected = [
        ("africrypt-hack.yaml", 1),
        ("binance_hack.yaml", 44),
        ("demo.yaml", 5),
        ("electrum_phishing.yaml", 6),
        ("hacks.yaml", 608),
        ("lazarus.yaml", 21),
        ("lazarus2.yaml", 6),
        ("ofac.yaml", 572),
        ("plustoken.yaml", 12),
        ("ransomware.yaml", 7_178),
        ("ronin_bridge.yaml", 6),
        ("tornado_cash.yaml", 39),
        ("twitter_hack_scam.yaml", 3),
        ("walletexplorer.yaml", 386),
    ];
    let files: Vec<String> = packs().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(files, expected.iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>(), "the packs on disk");

    let (_dir, mut store) = store();
    let mut reports = BTreeMap::new();
    for (file, tags) in expected {
        let report = store.import(&shared(&format!("tagpacks/packs/{file}")), TagFormat::TagPack).unwrap();
        assert_eq!(report.tags + report.refused, tags, "{file}");
        assert!(!report.replaced, "{file}: every pack has its own title");
        assert_eq!(report.format, TagFormat::TagPack);
        reports.insert(file, report);
    }
    // plustoken.yaml lists two strings that are no Bitcoin address: one with a wrong
    // checksum, one written in lower case. They are left out and named; nothing else is.
    let refused: Vec<_> =
        reports.values().flat_map(|r| &r.refused_tags).map(|r| (r.line, r.address.as_str())).collect();
    assert_eq!(refused, [(11, "1MFgcyJ7ZNSknbTBRaih6zWDE6V1A64tRYs"), (31, "14bwh6gmvol5ntwbvxqjkjdtzv4y5ebtvm")]);
    for (_, address) in &refused {
        for chain in sleuth_chain::Chain::ALL {
            assert!(sleuth_chain::address::decode(address, chain).is_err(), "{address} is a {chain} address");
        }
    }
    assert_eq!(reports["plustoken.yaml"].refused, 2);
    assert_eq!(store.len(), expected.iter().map(|(_, n)| n).sum::<usize>() - 2);
    assert_eq!(store.sources().count(), expected.len());

    assert_eq!(reports["lazarus.yaml"].by_currency, counts(&[("BTC", 20), ("ETH", 1)]));
    assert_eq!(reports["lazarus.yaml"].by_chain, counts(&[("bitcoin", 20), ("evm", 1)]));
    assert_eq!(reports["lazarus2.yaml"].by_currency, counts(&[("BTC", 6)]));
    assert_eq!(reports["ronin_bridge.yaml"].by_currency, counts(&[("ETH", 6)]));
    assert_eq!(reports["tornado_cash.yaml"].by_currency, counts(&[("ETH", 39)]));
    assert_eq!(reports["ransomware.yaml"].by_currency, counts(&[("BTC", 7_178)]));
    assert_eq!(reports["hacks.yaml"].by_currency, counts(&[("BTC", 608)]));
    assert_eq!(reports["hacks.yaml"].addresses, 606, "hacks.yaml lists two addresses twice");
    assert_eq!(
        reports["demo.yaml"].by_currency,
        counts(&[("BCH", 1), ("BTC", 1), ("ETH", 1), ("XRP", 1), ("ZEC", 1)]),
        "other chains are kept with their currency"
    );
    let ofac = &reports["ofac.yaml"].by_currency;
    assert_eq!((ofac["BTC"], ofac["ETH"]), (385, 147));
    assert_eq!(ofac.values().sum::<usize>(), 572);
}

#[test]
fn lazarus_tags_inherit_the_header() {
    let (_dir, mut store) = store();
    let path = shared("tagpacks/packs/lazarus.yaml");
    let report = store.import(&path, TagFormat::TagPack).unwrap();
    assert_eq!(report.source, "tagpack:GraphSense Core Team/OFAC Tagpack");

    let Ok([tag]) = <[_; 1]>::try_from(store.tags_for("134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!(tag.label, "Lazarus group");
    assert_eq!(tag.actor.as_deref(), Some("lazarusgroup"));
    assert_eq!(tag.abuse.as_deref(), Some("sanction"));
    assert_eq!(tag.category.as_deref(), Some("user"));
    assert_eq!((tag.confidence.as_deref(), tag.confidence_level), (Some("authority_data"), Some(60)));
    assert_eq!(tag.source, "https://www.treasury.gov/resource-center/sanctions/OFAC-Enforcement/Pages/20200302.aspx");
    assert_eq!((tag.currency.as_str(), tag.network.as_str(), tag.chain.as_str()), ("BTC", "BTC", "bitcoin"));
    assert!(!tag.is_cluster_definer);
    assert_eq!(tag.import, report.source);
    assert_eq!(tag.file, path.display().to_string());

    // The ETH tag overrides the currency; 0x addresses match whatever their case.
    let Ok([eth]) = <[_; 1]>::try_from(store.tags_for("0x098b716b8aaf21512996dc57eb0615e2383e2f96").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((eth.currency.as_str(), eth.network.as_str(), eth.chain.as_str()), ("ETH", "ETH", "evm"));
    assert_eq!(eth.address, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "kept as written");
}

#[test]
fn packs_without_confidence_or_network_get_the_tools_defaults() {
    let (_dir, mut store) = store();
    store.import(&shared("tagpacks/packs/ofac.yaml"), TagFormat::TagPack).unwrap();
    // ofac.yaml sets no confidence: GraphSense's tool gives such a pack its lowest level.
    assert!(store
        .all()
        .unwrap()
        .into_iter()
        .all(|t| t.confidence.as_deref() == Some("unknown") && t.confidence_level == Some(5)));
    // No pack sets `network`: it defaults to the currency.
    assert!(store.all().unwrap().into_iter().all(|t| t.network == t.currency));
    // The TRON address OFAC files under XBT is in this pack too, as BTC.
    let Ok([tron]) = <[_; 1]>::try_from(store.tags_for("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((tron.currency.as_str(), tron.chain.as_str()), ("BTC", "tron"));
}

#[test]
fn tags_override_header_fields_per_tag() {
    let store = everything_shared();
    let wannacry: Vec<_> = store.all().unwrap().into_iter().filter(|t| t.label == "Wannacry").collect();
    assert_eq!(wannacry.len(), 5, "README: 5 addresses labelled Wannacry");
    for t in wannacry {
        assert_eq!((t.abuse.as_deref(), t.confidence.as_deref()), (Some("ransomware"), Some("forensic")));
        assert_eq!(t.confidence_level, Some(50));
    }

    let Ok([bitstamp]) = <[_; 1]>::try_from(store.tags_for("1JoktQJhCzuCQkt3GnQ8Xddcq4mUgNyXEa").unwrap()) else {
        panic!("one tag")
    };
    assert_eq!((bitstamp.label.as_str(), bitstamp.category.as_deref()), ("Bitstamp", Some("exchange")));
    assert_eq!((bitstamp.actor.as_deref(), bitstamp.confidence.as_deref()), (Some("bitstamp"), Some("web_crawl")));
}

#[test]
fn bech32_addresses_match_in_either_case() {
    let (dir, mut store) = store();
    store.import(&shared("tagpacks/packs/electrum_phishing.yaml"), TagFormat::TagPack).unwrap();
    let lower = "bc1q92md7868uun8vplp9te0vaecmxyc5rrphdyvxg";
    assert_eq!(store.tags_for(lower).unwrap().len(), 1);
    assert_eq!(store.tags_for(&lower.to_uppercase()).unwrap().len(), 1);
    assert_eq!(store.tags_for(lower).unwrap()[0].label, "Electrum phishing");
    // Litecoin tags of the same pack keep their chain; base58 stays case-sensitive.
    assert_eq!(store.tags_for("LhbGVfuLPxMMFZrkDkSPC16Yu2RQ7S9Bc7").unwrap()[0].chain, "litecoin");
    assert!(store.tags_for("lhbgvfulpxmmfzrkdkspc16yu2rq7s9bc7").unwrap().is_empty());

    // A store opened again answers the same.
    let again = TagStore::open(&dir.path().join("tags")).unwrap();
    assert_eq!(again.tags_for(&lower.to_uppercase()).unwrap(), store.tags_for(lower).unwrap());
}

#[test]
fn compiled_in_taxonomy_is_the_shared_one() {
    let read = |f: &str| std::fs::read_to_string(shared(&format!("tagpacks/schema/{f}"))).unwrap();
    assert_eq!(sleuth_tags::taxonomy::CONCEPTS_YAML, read("concepts.yaml"));
    assert_eq!(sleuth_tags::taxonomy::CONFIDENCE_CSV, read("confidence.csv"));
}
