use super::*;
use crate::platform::limiter::{Budget, Lane, Limiter, in_lane};

fn gaps(p: &Phases) -> Vec<u64> {
    let keys: Vec<u32> = p.taken.keys().copied().collect();
    keys.iter().map(|&k| Phases::dist(k, p.next(k))).collect()
}

#[test]
fn phases_added_one_by_one_stay_evenly_spread() {
    let mut p = Phases::default();
    let taken: Vec<u32> = (0..8).map(|_| p.take()).collect();
    let eighth = (TURN / 8) as u32;
    assert_eq!(
        taken,
        [0, 4, 2, 6, 1, 5, 3, 7].map(|k| k * eighth),
        "0, 1/2, 1/4, 3/4, 1/8, 5/8, 3/8, 7/8"
    );
    for _ in 8..1000 {
        p.take();
    }
    assert_eq!(p.len(), 1000);
    let g = gaps(&p);
    let (min, max) = (g.iter().min().unwrap(), g.iter().max().unwrap());
    assert!(max / min <= 2, "gaps within a factor of two: {min} {max}");
    // Any fifteenth of the circle (a 2 s slot of a 30 s interval) holds its share, give or
    // take a few rooms.
    let mut per_slot = [0usize; 15];
    for k in p.taken.keys() {
        per_slot[(u64::from(*k) * 15 / TURN) as usize] += 1;
    }
    for n in per_slot {
        assert!((64..=70).contains(&n), "{per_slot:?}");
    }
}

#[test]
fn phases_given_back_are_filled_first() {
    let mut p = Phases::default();
    let taken: Vec<u32> = (0..64).map(|_| p.take()).collect();
    // Rooms removed by a reload: every phase in the first half of the circle.
    let gone: Vec<u32> = taken
        .iter()
        .copied()
        .filter(|k| u64::from(*k) < TURN / 2)
        .collect();
    for k in &gone {
        p.give_back(*k);
    }
    assert_eq!(p.len(), 32);
    // New rooms go into the hole (from the last phase left, 63/64, round to 1/2), not
    // between rooms that are still there.
    for _ in 0..32 {
        let k = u64::from(p.take());
        assert!(!(TURN / 2..=TURN / 64 * 63).contains(&k), "{k}");
    }
    let g = gaps(&p);
    let (min, max) = (g.iter().min().unwrap(), g.iter().max().unwrap());
    assert!(max / min <= 2, "even again: {g:?}");
    // Down to one room and none, and back.
    let all: Vec<u32> = p.taken.keys().copied().collect();
    for k in all {
        p.give_back(k);
    }
    assert_eq!(p.len(), 0);
    assert_eq!(p.take(), 0);
    assert_eq!(p.take(), (TURN / 2) as u32);
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_grid_point_comes_once_per_interval_at_the_rooms_offset() {
    let epoch = Instant::now();
    let quarter = (TURN / 4) as u32;
    let g = Grid::new(epoch, quarter, Duration::ZERO, secs(40), epoch);
    assert_eq!(g.offset(), secs(10));
    assert_eq!(g.at_or_after(epoch), epoch + secs(10));
    assert_eq!(g.at_or_after(epoch + secs(10)), epoch + secs(10));
    assert_eq!(
        g.at_or_after(epoch + Duration::from_millis(10_001)),
        epoch + secs(50)
    );
    // After a poll answered late (it waited for the budget), the next is still on the grid.
    assert_eq!(g.next_poll(epoch + secs(17)), epoch + secs(50));
    // A poll out of turn (an operator's check) does not bring the next one forward.
    assert_eq!(g.next_poll(epoch + secs(45)), epoch + secs(90));
    // A quantum rounds the offset down: rooms of one quantum poll together.
    let q = Grid::new(epoch, quarter + 12345, secs(3), secs(40), epoch);
    assert_eq!(q.offset(), secs(9));
    // Another interval, the same seat.
    assert_eq!(g.with_interval(secs(80)).offset(), secs(20));
}

#[test]
fn a_room_resolved_after_its_slot_polls_at_once() {
    let epoch = Instant::now();
    let quarter = (TURN / 4) as u32;
    let g = Grid::new(epoch, quarter, Duration::ZERO, secs(40), epoch);
    // Its slot (10 s) passed while its short id was being resolved (12 s): at once.
    assert_eq!(g.first_poll(epoch + secs(12)), epoch + secs(12));
    // Started before its slot: at its slot.
    assert_eq!(g.first_poll(epoch + secs(1)), epoch + secs(10));
    // Seated just after its slot at start-up (rooms are seated one after the other): still
    // the first interval's slot, at once.
    let next = Grid::new(epoch, 0, Duration::ZERO, secs(40), epoch + secs(1));
    assert_eq!(next.first_poll(epoch + secs(2)), epoch + secs(2));
    // A room that takes its seat later (a reload) waits for its next slot, within one
    // interval.
    let late = Grid::new(epoch, quarter, Duration::ZERO, secs(40), epoch + secs(100));
    assert_eq!(late.first_poll(epoch + secs(100)), epoch + secs(130));
}

/// One simulated room: polls on its grid through the limiter, recording when each poll got
/// its turn.
async fn room(
    id: usize,
    grid: Grid,
    limiter: Limiter,
    until: tokio::time::Instant,
    log: PollLog,
    t0: tokio::time::Instant,
) {
    let mut next = grid.first_poll(tokio::time::Instant::now().into_std());
    loop {
        let at = tokio::time::Instant::from_std(next);
        if at >= until {
            return;
        }
        tokio::time::sleep_until(at).await;
        let permit = limiter
            .acquire()
            .await
            .expect("a poll waits, it never fails");
        let now = tokio::time::Instant::now();
        log.lock().unwrap().push((id, now - t0));
        permit.ok();
        next = grid.next_poll(now.into_std());
    }
}

/// When each room's poll got its turn: (room, time after the start).
type PollLog = Arc<Mutex<Vec<(usize, Duration)>>>;

/// The simulation: its limiter, its log, the rooms' tasks, its start, the rooms' seats.
type Simulation = (
    Limiter,
    PollLog,
    Vec<tokio::task::JoinHandle<()>>,
    tokio::time::Instant,
    Vec<Seat>,
);

fn simulate(rooms: usize, interval: Duration, budget: Budget, quantum: Duration) -> Simulation {
    let schedule = Schedule::new(quantum);
    let limiter = Limiter::new("test", budget);
    let log = Arc::new(Mutex::new(Vec::new()));
    let t0 = tokio::time::Instant::now();
    let until = t0 + interval * 10;
    let mut seats = Vec::new();
    let handles = (0..rooms)
        .map(|id| {
            let seat = schedule.seat();
            let grid = seat.grid(interval);
            seats.push(seat);
            tokio::spawn(room(id, grid, limiter.clone(), until, log.clone(), t0))
        })
        .collect();
    (limiter, log, handles, t0, seats)
}

#[tokio::test(start_paused = true)]
async fn within_the_budget_every_room_polls_once_per_interval_spread_evenly() {
    // 120 rooms at 30 s: 4 requests a second, within a budget of 5.
    let (_, log, handles, _, _seats) = simulate(
        120,
        secs(30),
        Budget {
            per_second: 5.0,
            burst: 4,
        },
        Duration::ZERO,
    );
    for h in handles {
        h.await.unwrap();
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 120 * 10, "each room once per interval");
    // Spread over the interval: every second of the run has its share of polls (4), never
    // a burst beyond the budget.
    let mut per_second = vec![0usize; 300];
    for (_, t) in &log {
        per_second[t.as_secs() as usize] += 1;
    }
    assert!(
        per_second.iter().all(|&n| (3..=5).contains(&n)),
        "{per_second:?}"
    );
    // Each room's polls are exactly one interval apart: nothing drifts.
    let mut by_room: Vec<Vec<Duration>> = vec![Vec::new(); 120];
    for (id, t) in log {
        by_room[id].push(t);
    }
    for times in by_room {
        assert!(
            times.windows(2).all(|w| w[1] - w[0] == secs(30)),
            "{times:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn beyond_the_budget_rooms_take_turns_fairly_and_live_rooms_go_first() {
    // 300 rooms at 30 s need 10 requests a second; the budget is 1: each room is checked
    // about every 300 s, in turn, and none twice before every other once.
    let budget = Budget {
        per_second: 1.0,
        burst: 2,
    };
    let (limiter, log, handles, t0, _seats) = simulate(300, secs(30), budget, Duration::ZERO);
    // A live room's stream lookup at 100 s, behind ~270 queued polls.
    tokio::time::sleep_until(t0 + secs(100)).await;
    let asked = tokio::time::Instant::now();
    let permit = in_lane(Lane::Live, limiter.acquire()).await.unwrap();
    let got = tokio::time::Instant::now();
    assert!(got - asked <= secs(1), "at the next token");
    permit.ok();
    for h in handles {
        h.await.unwrap();
    }
    let log = log.lock().unwrap().clone();
    // The budget held: never more than the burst of 2 within a second.
    let mut times: Vec<Duration> = log.iter().map(|(_, t)| *t).collect();
    times.push(got - t0);
    times.sort();
    for w in times.windows(3) {
        assert!(
            w[2] - w[0] >= secs(1),
            "never more than the burst at once: {w:?}"
        );
    }
    // Fair: in the first 300 s (300 turns, one taken by the live room) every room but one
    // or two had its turn, none had two.
    let mut checks = vec![0usize; 300];
    for (id, t) in &log {
        if *t < secs(300) {
            checks[*id] += 1;
        }
    }
    assert!(checks.iter().all(|&n| n <= 1), "{checks:?}");
    assert!(checks.iter().sum::<usize>() >= 297, "{checks:?}");
}
