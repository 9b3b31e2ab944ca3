//! Tests of [`super::IdHashTable`]: lookups through the batch and the file, leftovers of
//! interrupted and unwound batches, memory given back.

use super::*;

/// Looks every id of `key_of` below `live` up, through the batch and through the file
/// alone (as a snapshot does), and checks that none at or past `live` is found.
fn check(t: &IdHashTable, key_of: &dyn Fn(u64) -> u64, live: u64, upto: u64, file_live: u64) {
    for id in 0..upto {
        let h = key_of(id);
        let want = (id < live).then_some(id);
        assert_eq!(t.get(h, live, |i| key_of(i) == h), want, "id {id} through the batch");
        let want_file = (id < file_live).then_some(id);
        assert_eq!(probe(t.slots(), h, file_live, |i| key_of(i) == h), want_file, "id {id} in the file");
    }
}

#[test]
fn finds_what_it_stored_and_forgets_ids_past_live() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = IdHashTable::open(&dir.path().join("t.idx"), 0, 0).unwrap();
    let keys: Vec<u64> = (0..20_000u64).map(|k| hash_bytes(&k.to_le_bytes())).collect();
    for (id, &h) in keys.iter().enumerate() {
        t.reserve(id as u64 + 1, |i| keys[i as usize]).unwrap();
        t.insert(h, id as u64);
        if id == 7_000 {
            // A commit mid-way: the first 7,001 reach the file, the table grows later.
            t.apply_pending();
            t.reset_pending(7_001);
        }
    }
    let key_of = |i: u64| keys[i as usize];
    check(&t, &key_of, 20_000, 20_000, 7_001);
    t.apply_pending();
    t.reset_pending(20_000);
    check(&t, &key_of, 20_000, 20_000, 20_000);
    // Unwind to 10,000 ids and insert others: the old ones past 10,000 stay in the file
    // as leftovers (free slots); the new ones must not be taken for them, nor lost.
    let live = 10_000u64;
    t.reset_pending(live);
    check(&t, &key_of, live, 20_000, live);
    let other: Vec<u64> = (0..5_000u64).map(|k| hash_bytes(&(k + 1_000_000).to_le_bytes())).collect();
    for (j, &h) in other.iter().enumerate() {
        t.insert(h, live + j as u64);
    }
    let all = live + other.len() as u64;
    let key_of = |i: u64| if i < live { keys[i as usize] } else { other[(i - live) as usize] };
    check(&t, &key_of, all, all, live);
    t.apply_pending();
    t.reset_pending(all);
    check(&t, &key_of, all, all, all);
}

#[test]
fn a_batch_that_outgrew_its_presize_gives_the_memory_back_at_its_commit() {
    // Before: a batch that grew its in-memory table kept it, so every later batch started
    // at or over the ingest's budget and was committed after each block.
    let dir = tempfile::tempdir().unwrap();
    let mut t = IdHashTable::open(&dir.path().join("t.idx"), 0, 0).unwrap();
    t.reserve(100_000, |_| unreachable!()).unwrap();
    t.presize_pending(10_000);
    let planned = t.pending_bytes();
    let keys: Vec<u64> = (0..40_000u64).map(|k| hash_bytes(&k.to_le_bytes())).collect();
    for (id, &h) in keys.iter().enumerate() {
        t.insert(h, id as u64);
        // 10,000 entries at most half full take 32,768 slots, which grow at the 16,384th
        // insert: the growth is counted before it happens, so the ingest commits first.
        match id {
            5_000 => assert_eq!(t.pending.growth_bytes(), 0),
            16_000 => assert_eq!(t.pending.growth_bytes(), 32_768 * 12, "the growth is near"),
            _ => {}
        }
    }
    assert!(t.pending_bytes() > 2 * planned, "{} vs {planned}", t.pending_bytes());
    t.apply_pending();
    t.reset_pending(keys.len() as u64);
    assert!(t.pending_bytes() <= planned, "{} vs {planned}", t.pending_bytes());
    for (id, &h) in keys.iter().enumerate() {
        assert_eq!(t.get(h, keys.len() as u64, |i| i == id as u64), Some(id as u64));
    }
}

#[test]
fn leftovers_a_crash_left_are_found_at_open_and_taken_again() {
    // A batch of 300 ids reached the file but only 100 were committed (a crash). The
    // reopened table must know that ids 100..300 are leftovers: inserts in place must take
    // their slots again when free, and must not take the slots of ids they wrote.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.idx");
    let first: Vec<u64> = (0..300u64).map(|k| hash_bytes(&k.to_le_bytes())).collect();
    {
        let mut t = IdHashTable::open(&path, 0, 0).unwrap();
        t.reserve(1_000, |_| unreachable!()).unwrap();
        for (id, &h) in first.iter().enumerate() {
            t.insert(h, id as u64);
        }
        t.apply_pending();
        t.flush().unwrap();
    }
    let mut t = IdHashTable::open(&path, 0, 100).unwrap();
    assert!(t.leftovers, "ids 100..300 past the committed 100");
    let clean = IdHashTable::open(&path, 0, 300).unwrap();
    assert!(!clean.leftovers, "every id committed");
    drop(clean);
    // The first 200 with the leftovers' hashes, so that each probes over one: a table that
    // did not know them for leftovers would pass over them and never take them again.
    let second: Vec<u64> = (0..400u64)
        .map(|j| if j < 200 { first[100 + j as usize] } else { hash_bytes(&(j + 7_777).to_le_bytes()) })
        .collect();
    t.set_direct(true);
    for (j, &h) in second.iter().enumerate() {
        t.insert(h, 100 + j as u64);
    }
    let key_of = |i: u64| if i < 100 { first[i as usize] } else { second[(i - 100) as usize] };
    check(&t, &key_of, 500, 500, 500);
    t.reset_pending(500);
    let used = t.slots().iter().filter(|&&s| s != 0).count();
    assert_eq!(used, 500, "500 ids, the 200 leftovers' slots taken again");
}

#[test]
fn a_batch_applied_over_leftovers_with_the_same_ids_keeps_every_entry() {
    // Leftovers of an interrupted batch hold ids 100..300 under other keys; the batch
    // that replaces it hands out the same ids. Whatever the order of slots, each of the
    // new entries must be found and no committed one lost.
    let dir = tempfile::tempdir().unwrap();
    let mut t = IdHashTable::open(&dir.path().join("t.idx"), 0, 0).unwrap();
    t.reserve(1_000, |_| unreachable!()).unwrap();
    let first: Vec<u64> = (0..300u64).map(|k| hash_bytes(&k.to_le_bytes())).collect();
    for (id, &h) in first.iter().enumerate() {
        t.insert(h, id as u64);
    }
    t.apply_pending();
    t.reset_pending(100); // committed 100; 100..300 are leftovers
    let second: Vec<u64> = (0..400u64).map(|k| hash_bytes(&(k + 7_777).to_le_bytes())).collect();
    for (j, &h) in second.iter().enumerate() {
        t.insert(h, 100 + j as u64);
    }
    t.apply_pending();
    t.reset_pending(500);
    let key_of = |i: u64| if i < 100 { first[i as usize] } else { second[(i - 100) as usize] };
    check(&t, &key_of, 500, 500, 500);
    for (id, &h) in first.iter().enumerate().skip(100) {
        assert_eq!(probe(t.slots(), h, 500, |i| key_of(i) == h), None, "leftover {id}");
    }
    // Reorgs that unwind and re-add the same transactions under the same ids, again and
    // again: their leftovers must be taken again, or the table fills up.
    for round in 0..20 {
        t.reset_pending(100);
        for (j, &h) in second.iter().enumerate() {
            t.insert(h, 100 + j as u64);
        }
        t.apply_pending();
        check(&t, &key_of, 500, 500, 500);
        let used = t.slots().iter().filter(|&&s| s != 0).count();
        assert!(used <= 700, "round {round}: {used} slots in use for 500 ids and 200 leftovers");
    }
}
