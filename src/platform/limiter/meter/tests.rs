use super::*;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_turn_does_not_count() {
    // 100 s of waiting and 20 s of work fit in a 30 s limit.
    let out = timeout_active(s(30), async {
        {
            let _w = waiting();
            allow(s(100));
            tokio::time::sleep(s(100)).await;
        }
        tokio::time::sleep(s(20)).await;
        7
    })
    .await;
    assert_eq!(out, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn work_beyond_the_limit_times_out() {
    let t0 = Instant::now();
    let out = timeout_active(s(30), async {
        {
            let _w = waiting();
            let _nested = waiting();
            allow(s(50));
            tokio::time::sleep(s(50)).await;
        }
        tokio::time::sleep(s(3600)).await;
    })
    .await;
    assert_eq!(out, Err(Overrun::Active(s(30))));
    assert_eq!(t0.elapsed(), s(80), "50 s waited + 30 s of work");
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_never_ends_is_cut_at_the_total_cap() {
    // A wait announced to last 100 s that never ends: cut at 2 x (30 s + 100 s).
    let t0 = Instant::now();
    let out = timeout_active(s(30), async {
        let _w = waiting();
        allow(s(100));
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, Err(Overrun::Total(s(260))));
    assert_eq!(t0.elapsed(), s(260));
    // Unannounced: cut at twice the call's own limit.
    let out = timeout_active(s(30), async {
        let _w = waiting();
        std::future::pending::<()>().await;
    })
    .await;
    assert_eq!(out, Err(Overrun::Total(s(60))));
}

#[tokio::test(start_paused = true)]
async fn long_announced_waits_are_not_cut() {
    // A turn 1000 s away (a thousand rooms ahead), announced: waited out, then 20 s of work.
    let out = timeout_active(s(30), async {
        {
            let _w = waiting();
            allow(s(1000));
            tokio::time::sleep(s(1000)).await;
        }
        tokio::time::sleep(s(20)).await;
        7
    })
    .await;
    assert_eq!(out, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn marks_outside_a_scope_do_nothing() {
    let _w = waiting();
    tokio::time::sleep(s(1)).await;
}
