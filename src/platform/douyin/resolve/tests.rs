use super::*;

fn hop(s: &str) -> Result<ShareTarget, String> {
    match classify(&url::Url::parse(s).unwrap()) {
        Hop::Done(t) => Ok(t),
        Hop::Follow => Err("follow".into()),
        Hop::Reject(why) => Err(why),
    }
}

#[test]
fn where_share_links_lead() {
    assert_eq!(hop("https://v.douyin.com/iRNBho6u/"), Err("follow".into()));
    assert_eq!(
        hop("https://live.douyin.com/a.b-c?x=1"),
        Ok(ShareTarget::WebRid("a.b-c".into()))
    );
    assert_eq!(
        hop(
            "https://webcast.amemv.com/douyin/webcast/reflow/7300000000000000099?u_code=x&sec_user_id=MS4wLjABAAAAtest"
        ),
        Ok(ShareTarget::Live {
            room_id: "7300000000000000099".into(),
            sec_uid: "MS4wLjABAAAAtest".into()
        })
    );
    assert_eq!(
        hop("https://webcast.amemv.com/douyin/webcast/reflow/73?sec_user_id=bad%20uid"),
        Ok(ShareTarget::Live {
            room_id: "73".into(),
            sec_uid: String::new()
        })
    );
    assert_eq!(
        hop(
            "https://www.iesdouyin.com/share/user/MS4wLjABAAAAtest?sec_uid=MS4wLjABAAAAtest&u_code=1"
        ),
        Ok(ShareTarget::Profile {
            sec_uid: "MS4wLjABAAAAtest".into()
        })
    );
    assert_eq!(
        hop("https://www.iesdouyin.com/share/user/?sec_uid=MS4wLjABAAAAq"),
        Ok(ShareTarget::Profile {
            sec_uid: "MS4wLjABAAAAq".into()
        })
    );
    assert_eq!(
        hop("https://www.douyin.com/user/MS4wLjABAAAAtest?from_tab_name=main"),
        Ok(ShareTarget::Profile {
            sec_uid: "MS4wLjABAAAAtest".into()
        })
    );
    let e = hop("https://www.douyin.com/video/7300000000000000000?a=secret").unwrap_err();
    assert!(e.contains("neither a live room"), "{e}");
    assert!(!e.contains("secret"), "queries are not shown: {e}");
    assert!(hop("https://www.douyin.com/user/").is_err());
}
