//! Tests of the engine itself: determinism, mutation bounds, finding and shrinking a planted
//! bug with outcome guidance, and the files a failure leaves.

use super::*;

/// A scratch "crate directory" for a test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tine-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn rng_is_deterministic_and_lengths_stay_in_range() {
    let (mut a, mut b) = (Rng::new(7), Rng::new(7));
    for _ in 0..1000 {
        assert_eq!(a.next_u64(), b.next_u64());
    }
    for max in [0usize, 1, 2, 3, 100, 4096, usize::MAX] {
        for _ in 0..200 {
            assert!(a.len(max) <= max);
        }
    }
    assert_eq!(a.below(0), 0);
    assert_eq!(bucket(0), 0);
    assert_eq!(bucket(1), 1);
    assert_eq!(bucket(7), 3);
}

#[test]
fn mutations_respect_the_length_limit() {
    let mut rng = Rng::new(1);
    let dict = vec![b"070701".to_vec(), b"\x7fELF".to_vec()];
    let mut data = b"seed".to_vec();
    for i in 0..20_000 {
        let other = if i % 3 == 0 {
            &b""[..]
        } else {
            &b"other input"[..]
        };
        mutate(&mut rng, &mut data, &dict, other, 300);
        assert!(data.len() <= 300);
        if i % 100 == 0 {
            data = b"seed".to_vec();
        }
    }
}

#[test]
fn corpus_and_seeds_run_first_and_a_clean_target_passes() {
    let dir = scratch("clean");
    let corpus = dir.join("fuzz/corpus/clean");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(corpus.join("a.bin"), b"from a file").unwrap();
    std::fs::write(corpus.join(".hidden"), b"ignored").unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let stats = target("clean", dir.to_str().unwrap())
        .seed("in code", b"from code".to_vec())
        .iterations(500)
        .run(|data, cov| {
            let mut s = seen.lock().unwrap();
            if s.len() < 2 {
                s.push(data.to_vec());
            }
            cov.hit(data.first());
        });
    let s = seen.into_inner().unwrap();
    assert_eq!(s, vec![b"from a file".to_vec(), b"from code".to_vec()]);
    assert_eq!(stats.corpus, 2);
    assert!(stats.execs >= 2);
    assert!(stats.outcomes >= 1);
    assert!(!dir.join("fuzz/failures").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bug behind a four-byte magic: each matched prefix byte is a new outcome, so the pool
/// climbs towards it. The failure is shrunk to the magic and written out.
#[test]
fn finds_shrinks_and_saves_a_planted_bug() {
    let dir = scratch("planted");
    let r = panic::catch_unwind(|| {
        target("planted", dir.to_str().unwrap())
            .seed("start", b"xxxxxxxxxxxxxxxx".to_vec())
            .iterations(2_000_000)
            .run(|data, cov| {
                let n = data.iter().zip(b"Tine").take_while(|(a, b)| a == b).count();
                cov.hit(n);
                if n == 4 {
                    panic!("planted bug");
                }
            })
    });
    let msg = match r {
        Ok(stats) => panic!("the planted bug was not found: {stats:?}"),
        Err(p) => p.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(msg.contains("planted bug"), "{msg}");
    assert!(msg.contains("mv "), "{msg}");
    let failures: Vec<PathBuf> = std::fs::read_dir(dir.join("fuzz/failures/planted"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!failures.is_empty());
    let smallest = failures
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .min_by_key(|d| d.len())
        .unwrap();
    assert_eq!(smallest, b"Tine");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_corpus_input_is_reported_by_name() {
    let dir = scratch("corpus-fail");
    let corpus = dir.join("fuzz/corpus/t");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::write(corpus.join("bad.bin"), b"boom").unwrap();
    let r = panic::catch_unwind(|| {
        target("t", dir.to_str().unwrap())
            .iterations(10)
            .run(|data, _| assert_ne!(data, b"boom", "boom"))
    });
    let msg = r
        .err()
        .and_then(|p| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("bad.bin"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}
