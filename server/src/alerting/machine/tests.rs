//! Fixtures replayed through the machine: one verdict a minute, written as
//! `B` (bad), `G` (good), `N` (no data) and `E` (error).

use super::*;

fn t(minute: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minute)
}

fn id(minute: i64) -> Uuid {
    Uuid::from_u128(minute as u128 + 1)
}

fn verdict(c: char) -> Verdict {
    match c {
        'B' => Verdict::Bad,
        'G' => Verdict::Good,
        'N' => Verdict::NoData,
        'E' => Verdict::Error,
        other => panic!("no verdict {other}"),
    }
}

/// The state after each verdict and every notice, in order.
fn replay(policy: &Policy, verdicts: &str) -> (Vec<State>, Vec<(i64, Notice)>) {
    let mut m = Machine::new(t(-1));
    let mut states = Vec::new();
    let mut notices = Vec::new();
    for (i, c) in verdicts.chars().filter(|c| !c.is_whitespace()).enumerate() {
        let i = i as i64;
        let step = m.observe(policy, verdict(c), t(i), id(i));
        assert_eq!(
            step.transition.is_some(),
            states.last().unwrap_or(&State::Ok) != &m.state()
        );
        states.push(m.state());
        notices.extend(step.notices.into_iter().map(|n| (i, n)));
    }
    (states, notices)
}

fn letters(states: &[State]) -> String {
    states
        .iter()
        .map(|s| match s {
            State::Ok => 'o',
            State::Pending => 'p',
            State::Firing => 'F',
            State::Recovering => 'r',
            State::NoData => 'n',
            State::Error => 'e',
        })
        .collect()
}

fn threshold(n: u32) -> Policy {
    Policy {
        k: n,
        m: n,
        ..Policy::default()
    }
}

#[test]
fn one_bad_result_fires_and_one_good_resolves_by_default() {
    let (states, notices) = replay(&Policy::default(), "GBBGG");
    assert_eq!(letters(&states), "oFFoo");
    assert_eq!(notices, [(1, Notice::Firing), (3, Notice::Resolved)]);
}

#[test]
fn a_failure_threshold_counts_bad_results_in_a_row() {
    // After a resolution the window still holds two bads: one more is not three in a row.
    let (states, notices) = replay(&threshold(3), "BBGBBBGB");
    assert_eq!(letters(&states), "ppoppFop");
    assert_eq!(notices, [(5, Notice::Firing), (6, Notice::Resolved)]);
}

#[test]
fn three_of_five_fires_on_the_third_bad_result_in_the_window() {
    let policy = Policy {
        k: 3,
        m: 5,
        ..Policy::default()
    };
    // Goods between bads keep the episode pending while three can still
    // meet in five (B G G, then B B, is three of five); three goods after
    // one bad cannot.
    let (states, _) = replay(&policy, "BGBGB");
    assert_eq!(letters(&states), "ppppF");
    let (states, _) = replay(&policy, "BGGGB GGB B");
    assert_eq!(letters(&states), "pppoppppF");
}

#[test]
fn for_holds_a_failing_alert_pending_until_the_episode_is_old_enough() {
    let policy = Policy {
        hold: Duration::minutes(3),
        ..Policy::default()
    };
    // Bad from minute 0: firing at minute 3; a good at 1 restarts the clock.
    let (states, _) = replay(&policy, "BBBB");
    assert_eq!(letters(&states), "pppF");
    let (states, _) = replay(&policy, "BGBBBB");
    assert_eq!(letters(&states), "popppF");
}

#[test]
fn success_threshold_and_keep_firing_for_hold_a_recovery() {
    let policy = Policy {
        success_threshold: 2,
        ..Policy::default()
    };
    let (states, notices) = replay(&policy, "BGBGGG");
    assert_eq!(letters(&states), "FrFroo");
    assert_eq!(notices, [(0, Notice::Firing), (4, Notice::Resolved)]);

    let policy = Policy {
        keep_firing_for: Duration::minutes(2),
        ..Policy::default()
    };
    // First good at 1; resolved at 3, two minutes on.
    let (states, notices) = replay(&policy, "BGGGG");
    assert_eq!(letters(&states), "Frroo");
    assert_eq!(notices, [(0, Notice::Firing), (3, Notice::Resolved)]);
}

#[test]
fn no_data_and_errors_are_states_of_their_own() {
    let (states, notices) = replay(&Policy::default(), "GNNG BE G");
    assert_eq!(letters(&states), "onnoFeo");
    assert_eq!(
        notices,
        [
            (1, Notice::NoData),
            (3, Notice::Resolved),
            (4, Notice::Firing),
            (5, Notice::Error),
            (6, Notice::Resolved)
        ]
    );
}

#[test]
fn flapping_sends_one_notice_then_holds_the_rest_until_it_settles() {
    // Alternating for 24 minutes: every evaluation changes the state.
    let alternating: String = "BG".repeat(12);
    let settled = "G".repeat(20);
    let (states, notices) = replay(&Policy::default(), &format!("{alternating}{settled}"));
    let started = notices
        .iter()
        .position(|(_, n)| *n == Notice::FlappingStarted)
        .expect("flapping is noticed");
    // Before it: firing and resolved in turn; the 11th change starts it.
    assert_eq!(started, 10);
    assert!(
        notices[..started]
            .iter()
            .all(|(_, n)| matches!(n, Notice::Firing | Notice::Resolved))
    );
    // Then nothing until it settles: fewer than 5 changes in the last 20.
    let (at, stopped) = notices[started + 1];
    assert_eq!(stopped, Notice::FlappingStopped);
    assert_eq!(notices.len(), started + 2, "{notices:?}");
    assert!(at > 24, "settles only after the alternation ends, at {at}");
    assert_eq!(*states.last().unwrap(), State::Ok);

    // Settling in the firing state tells it.
    let (_, notices) = replay(
        &Policy::default(),
        &format!("{alternating}{}", "B".repeat(20)),
    );
    let tail: Vec<Notice> = notices
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(tail, [Notice::FlappingStopped, Notice::Firing]);
}

#[test]
fn transitions_name_the_results_that_caused_them() {
    let policy = Policy {
        k: 2,
        m: 3,
        success_threshold: 2,
        ..Policy::default()
    };
    let mut m = Machine::new(t(-1));
    let mut causes = Vec::new();
    for (i, c) in "BGBGG".chars().enumerate() {
        let i = i as i64;
        if let Some(tr) = m.observe(&policy, verdict(c), t(i), id(i)).transition {
            causes.push((tr.to, tr.causes));
        }
    }
    assert_eq!(
        causes,
        [
            (State::Pending, vec![id(0)]),
            (State::Firing, vec![id(0), id(2)]),
            (State::Recovering, vec![id(3)]),
            (State::Ok, vec![id(3), id(4)]),
        ]
    );
    assert_eq!(m.since(), t(4));
}

#[test]
fn conflicting_settings_are_named() {
    let bad = Policy {
        k: 4,
        m: 3,
        success_threshold: 0,
        hold: Duration::seconds(-1),
        ..Policy::default()
    };
    let fields: Vec<&str> = bad.problems().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["k_of_m", "success_threshold", "for"]);
    assert!(Policy::default().problems().is_empty());
    let too_long = Policy {
        m: MAX_WINDOW + 1,
        ..Policy::default()
    };
    assert_eq!(too_long.problems()[0].0, "k_of_m");
}
