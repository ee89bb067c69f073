use super::*;

// The worked example of the public wbi documentation.
const IMG: &str = "https://i0.hdslb.com/bfs/wbi/7cd084941338484aae1ad9425b84077c.png";
const SUB: &str = "https://i0.hdslb.com/bfs/wbi/4932caff0ff746eab6f01bf08b70ac45.png";

#[test]
fn the_documented_vector() {
    let keys = WbiKeys::from_urls(IMG, SUB).unwrap();
    assert_eq!(keys.img_key, "7cd084941338484aae1ad9425b84077c");
    let mixin = keys.mixin_key();
    assert_eq!(mixin, "ea1db124af3c7062474693fa704f4ff8");
    let q = sign(
        &[
            ("foo", "114".into()),
            ("bar", "514".into()),
            ("zab", "1919810".into()),
        ],
        &mixin,
        1702204169,
    );
    assert_eq!(
        q,
        "bar=514&foo=114&wts=1702204169&zab=1919810&w_rid=8f6f2b5b3d485fe1886cec6a0be8c5d4"
    );
}

#[test]
fn values_are_filtered_and_encoded() {
    assert_eq!(encode("a b/c,d~é"), "a%20b%2Fc%2Cd~%C3%A9");
    let q = sign(&[("x", "(it's)*!".into())], "k", 1);
    assert!(q.starts_with("wts=1&x=its&w_rid="), "{q}");
    assert_eq!(unsigned(&[("a", "1,2".into())]), "a=1%2C2");
}

#[test]
fn odd_keys_do_not_panic() {
    assert_eq!(mixin_key("", "").len(), 0);
    assert!(mixin_key("abc", "def").len() <= 6);
    assert!(WbiKeys::from_urls("", SUB).is_none());
    assert!(WbiKeys::from_urls("https://x/a/../.png", SUB).is_none());
}
