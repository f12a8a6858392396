//! The key lifecycle as a pure plan (DESIGN.md §4): given the keys and `now`, what
//! must change. No database, no clock: [`super::lifecycle`] carries the plan out.
//!
//! Time decides who signs. A key signs from `activates_at` until `retired_at`; a
//! rotation sets the old key's `retired_at` and the new key's `activates_at` to the
//! same instant, at least one reload interval ahead, so every instance has loaded the
//! change before it happens and all switch together: no instance signs with a key
//! another has retired. A waiting key is created `jwks_max_age` + one reload interval
//! before it may sign, so every instance has published it for a full JWKS cache
//! lifetime first. A retired key stays published until no token it signed is valid.

use super::KeyAlg;

/// Where a key is in its life, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, waiting to sign.
    Next,
    /// The current key (it may be scheduled to start signing a few seconds ahead).
    Active,
    /// Replaced (it may still sign until `retired_at`); published until `delete_after`.
    Retired,
    /// Compromised: out of the JWKS, never used again.
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<KeyState> {
        [
            KeyState::Next,
            KeyState::Active,
            KeyState::Retired,
            KeyState::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// What the planner needs to know of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimes {
    pub kid: String,
    pub alg: KeyAlg,
    pub state: KeyState,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub delete_after: Option<i64>,
}

impl KeyTimes {
    /// True when this key signs at `now`.
    pub fn signs_at(&self, now: i64) -> bool {
        matches!(self.state, KeyState::Active | KeyState::Retired)
            && self.activates_at <= now
            && self.retired_at.is_none_or(|end| now < end)
    }

    /// Whether the key is published in the JWKS.
    pub fn is_published(&self) -> bool {
        self.state != KeyState::Revoked
    }

    /// The state as seen at `now`: an `active` key scheduled to start later is still
    /// `next`, a `retired` key whose switch is still ahead is still `active`.
    pub fn effective_state(&self, now: i64) -> KeyState {
        match self.state {
            KeyState::Active if self.activates_at > now => KeyState::Next,
            KeyState::Retired if self.signs_at(now) => KeyState::Active,
            state => state,
        }
    }
}

/// The timing rules, from the configuration (all in seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The algorithms to keep keys for.
    pub algs: Vec<KeyAlg>,
    /// How long a new key waits, published, before it may sign:
    /// `jwks_max_age` + one reload interval.
    pub publish_lead: i64,
    /// How long a key signs before the automatic rotation.
    pub rotation_period: i64,
    /// How far ahead a switch is scheduled: one reload interval.
    pub switch_delay: i64,
    /// How long a retired key stays published: the longest lifetime of a token it
    /// signed, plus clock skew allowed to verifiers.
    pub retention: i64,
}

/// One change to the key table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make a new key: the first `active` one of an algorithm, or the waiting `next`.
    Create {
        alg: KeyAlg,
        state: KeyState,
        activates_at: i64,
    },
    /// Rotation: `promoting` (`next`) signs from `at`; `retiring` (`active`, if any)
    /// stops then and stays published until `delete_after`.
    Switch {
        alg: KeyAlg,
        retiring: Option<String>,
        promoting: String,
        at: i64,
        delete_after: i64,
    },
    /// An `active` key scheduled for later must sign now: the key that covered the
    /// gap was revoked.
    StartNow {
        kid: String,
        scheduled_at: i64,
        at: i64,
    },
    /// Retire without a successor: the algorithm was removed from the configuration.
    Retire {
        kid: String,
        at: i64,
        delete_after: i64,
    },
    /// Drop a key: a retired key past `delete_after`, or the waiting key of an
    /// algorithm no longer configured.
    Delete { kid: String, state: KeyState },
}

/// Everything that must change at `now` for the keys to follow the policy.
pub fn plan(keys: &[KeyTimes], policy: &Policy, now: i64) -> Vec<Action> {
    let mut actions = Vec::new();
    for alg in KeyAlg::ALL {
        let live: Vec<&KeyTimes> = keys
            .iter()
            .filter(|k| k.alg == alg && k.state != KeyState::Revoked)
            .collect();
        if policy.algs.contains(&alg) {
            plan_alg(&live, alg, policy, now, &mut actions);
        } else {
            plan_dropped_alg(&live, policy, now, &mut actions);
        }
        for key in &live {
            if key.state == KeyState::Retired && key.delete_after.is_some_and(|t| t <= now) {
                actions.push(Action::Delete {
                    kid: key.kid.clone(),
                    state: KeyState::Retired,
                });
            }
        }
    }
    actions
}

fn plan_alg(live: &[&KeyTimes], alg: KeyAlg, policy: &Policy, now: i64, out: &mut Vec<Action>) {
    let active = live.iter().find(|k| k.state == KeyState::Active);
    let mut next = live.iter().find(|k| k.state == KeyState::Next);
    if !live.iter().any(|k| k.signs_at(now)) {
        // Nothing signs: first start, or the signing key was revoked.
        match (active, next) {
            (Some(a), _) => out.push(Action::StartNow {
                kid: a.kid.clone(),
                scheduled_at: a.activates_at,
                at: now,
            }),
            (None, Some(n)) => {
                out.push(switch(alg, None, n, now, policy));
                next = None;
            }
            (None, None) => out.push(Action::Create {
                alg,
                state: KeyState::Active,
                activates_at: now,
            }),
        }
    } else if let (None, Some(n)) = (active, next) {
        // A retired key still signs but its successor was revoked before it started:
        // the waiting key takes over when the retired one stops, leaving no gap.
        let ends = live
            .iter()
            .filter(|k| k.signs_at(now))
            .filter_map(|k| k.retired_at)
            .min();
        if let Some(end) = ends {
            out.push(switch(alg, None, n, end, policy));
            next = None;
        }
    } else if let (Some(a), Some(n)) = (active, next) {
        // The automatic rotation is decided two reload intervals ahead, so every
        // instance has loaded it before the switch.
        let due = a.activates_at.saturating_add(policy.rotation_period);
        if a.activates_at <= now && due <= now.saturating_add(2 * policy.switch_delay) {
            let earliest = due.max(now.saturating_add(policy.switch_delay));
            out.push(switch(alg, Some(a), n, earliest, policy));
            next = None;
        }
    }
    if next.is_none() {
        out.push(Action::Create {
            alg,
            state: KeyState::Next,
            activates_at: now.saturating_add(policy.publish_lead),
        });
    }
}

fn plan_dropped_alg(live: &[&KeyTimes], policy: &Policy, now: i64, out: &mut Vec<Action>) {
    for key in live {
        match key.state {
            KeyState::Active => {
                let at = now.saturating_add(policy.switch_delay);
                out.push(Action::Retire {
                    kid: key.kid.clone(),
                    at,
                    delete_after: at.saturating_add(policy.retention),
                });
            }
            KeyState::Next => out.push(Action::Delete {
                kid: key.kid.clone(),
                state: KeyState::Next,
            }),
            KeyState::Retired | KeyState::Revoked => {}
        }
    }
}

/// The switch from `retiring` to `promoting`, at `earliest` or as soon after as the
/// rules allow: not before the new key has waited its publication lead and not before
/// the current key has itself started. With nothing to retire (nothing signs), the
/// new key starts at `earliest` whatever its lead.
fn switch(
    alg: KeyAlg,
    retiring: Option<&KeyTimes>,
    promoting: &KeyTimes,
    earliest: i64,
    policy: &Policy,
) -> Action {
    let at = match retiring {
        None => earliest,
        Some(old) => earliest.max(promoting.activates_at).max(old.activates_at),
    };
    Action::Switch {
        alg,
        retiring: retiring.map(|k| k.kid.clone()),
        promoting: promoting.kid.clone(),
        at,
        delete_after: at.saturating_add(policy.retention),
    }
}

/// An on-demand rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The [`Action::Switch`].
    pub switch: Action,
    /// True when the switch was already scheduled (by another instance, a moment
    /// ago): nothing is to change, and two requests make one rotation.
    pub already_scheduled: bool,
}

/// An on-demand rotation of `alg` (`keys rotate`, the admin UI): the waiting key
/// takes over as soon as it has been published long enough and every instance can
/// have loaded the decision. A switch still ahead is reported, not repeated. `None`
/// when the algorithm has no active and waiting key (run [`plan`] first).
pub fn plan_rotation(
    keys: &[KeyTimes],
    alg: KeyAlg,
    policy: &Policy,
    now: i64,
) -> Option<Rotation> {
    let find = |state| keys.iter().find(|k| k.alg == alg && k.state == state);
    let active = find(KeyState::Active)?;
    if active.activates_at > now {
        let retiring = keys.iter().find(|k| {
            k.alg == alg
                && k.state == KeyState::Retired
                && k.retired_at == Some(active.activates_at)
        });
        return Some(Rotation {
            switch: Action::Switch {
                alg,
                retiring: retiring.map(|k| k.kid.clone()),
                promoting: active.kid.clone(),
                at: active.activates_at,
                delete_after: retiring
                    .and_then(|k| k.delete_after)
                    .unwrap_or(active.activates_at.saturating_add(policy.retention)),
            },
            already_scheduled: true,
        });
    }
    let next = find(KeyState::Next)?;
    Some(Rotation {
        switch: switch(
            alg,
            Some(active),
            next,
            now.saturating_add(policy.switch_delay),
            policy,
        ),
        already_scheduled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn policy() -> Policy {
        Policy {
            algs: vec![KeyAlg::Rs256, KeyAlg::Es256],
            publish_lead: 610,
            rotation_period: 30 * DAY,
            switch_delay: 10,
            retention: 3660,
        }
    }

    /// Applies a plan the way the store would, naming new keys k1, k2, …
    fn apply(keys: &mut Vec<KeyTimes>, actions: &[Action], now: i64) {
        for action in actions {
            match action.clone() {
                Action::Create {
                    alg,
                    state,
                    activates_at,
                } => {
                    static MADE: std::sync::atomic::AtomicUsize =
                        std::sync::atomic::AtomicUsize::new(0);
                    let kid = format!(
                        "k{}",
                        MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    );
                    keys.push(KeyTimes {
                        kid,
                        alg,
                        state,
                        activates_at,
                        retired_at: None,
                        delete_after: None,
                    });
                }
                Action::Switch {
                    retiring,
                    promoting,
                    at,
                    delete_after,
                    ..
                } => {
                    for k in keys.iter_mut() {
                        if Some(&k.kid) == retiring.as_ref() {
                            k.state = KeyState::Retired;
                            k.retired_at = Some(at);
                            k.delete_after = Some(delete_after);
                        }
                        if k.kid == promoting {
                            k.state = KeyState::Active;
                            k.activates_at = at;
                        }
                    }
                }
                Action::StartNow { kid, at, .. } => keys
                    .iter_mut()
                    .filter(|k| k.kid == kid)
                    .for_each(|k| k.activates_at = at),
                Action::Retire {
                    kid,
                    at,
                    delete_after,
                } => {
                    for k in keys.iter_mut().filter(|k| k.kid == kid) {
                        k.state = KeyState::Retired;
                        k.retired_at = Some(at);
                        k.delete_after = Some(delete_after);
                    }
                }
                Action::Delete { kid, .. } => keys.retain(|k| k.kid != kid),
            }
        }
        let _ = now;
    }

    fn step(keys: &mut Vec<KeyTimes>, p: &Policy, now: i64) {
        let actions = plan(keys, p, now);
        apply(keys, &actions, now);
    }

    fn signer(keys: &[KeyTimes], alg: KeyAlg, now: i64) -> Vec<String> {
        keys.iter()
            .filter(|k| k.alg == alg && k.signs_at(now))
            .map(|k| k.kid.clone())
            .collect()
    }

    #[test]
    fn first_start_makes_an_active_and_a_waiting_key_per_algorithm() {
        let mut keys = Vec::new();
        let actions = plan(&keys, &policy(), 1000);
        apply(&mut keys, &actions, 1000);
        for alg in [KeyAlg::Rs256, KeyAlg::Es256] {
            assert_eq!(signer(&keys, alg, 1000).len(), 1);
            let next = keys
                .iter()
                .find(|k| k.alg == alg && k.state == KeyState::Next)
                .unwrap();
            assert_eq!(next.activates_at, 1000 + 610);
        }
        assert!(!keys.iter().any(|k| k.alg == KeyAlg::EdDsa));
        assert!(
            plan(&keys, &policy(), 1001).is_empty(),
            "a second plan changes nothing"
        );
    }

    #[test]
    fn exactly_one_key_signs_at_every_second_across_rotations() {
        let p = policy();
        let mut keys = Vec::new();
        let start = 1_000_000;
        let mut now = start;
        let mut published_since = std::collections::HashMap::new();
        let mut signers = Vec::new();
        while now < start + 100 * DAY {
            let actions = plan(&keys, &p, now);
            apply(&mut keys, &actions, now);
            for k in &keys {
                published_since.entry(k.kid.clone()).or_insert(now);
            }
            for alg in [KeyAlg::Rs256, KeyAlg::Es256] {
                let s = signer(&keys, alg, now);
                assert_eq!(s.len(), 1, "{alg} at {now}: {keys:?}");
                // A key signs only after a full publication lead (except the first).
                let since = published_since[&s[0]];
                assert!(
                    since == start || now - since >= 600,
                    "{} signed too early",
                    s[0]
                );
                if signers.last() != Some(&s[0]) && alg == KeyAlg::Es256 {
                    signers.push(s[0].clone());
                }
            }
            now += 7; // the reload interval is 10 s: plans run more often than that
        }
        // 100 days at 30 per rotation: the first key and three successors.
        assert_eq!(signers.len(), 4, "{signers:?}");
    }

    #[test]
    fn rotation_is_scheduled_ahead_and_retired_keys_outlive_their_tokens() {
        let p = policy();
        let mut keys = Vec::new();
        step(&mut keys, &p, 0);
        let first = signer(&keys, KeyAlg::Es256, 0)[0].clone();
        let due = 30 * DAY;
        let decided_at = due - 15;
        let actions = plan(&keys, &p, decided_at);
        apply(&mut keys, &actions, decided_at);
        // Decided 15 s ahead: the old key still signs until the due time, then the new.
        assert_eq!(signer(&keys, KeyAlg::Es256, due - 1), vec![first.clone()]);
        assert_ne!(signer(&keys, KeyAlg::Es256, due), vec![first.clone()]);
        let old = keys.iter().find(|k| k.kid == first).unwrap();
        assert_eq!(old.delete_after, Some(due + p.retention));
        // Published until delete_after, then deleted.
        let later = plan(&keys, &p, due + p.retention - 1);
        assert!(!later
            .iter()
            .any(|a| matches!(a, Action::Delete { kid, .. } if *kid == first)));
        let later = plan(&keys, &p, due + p.retention);
        assert!(later
            .iter()
            .any(|a| matches!(a, Action::Delete { kid, .. } if *kid == first)));
    }

    #[test]
    fn manual_rotation_waits_for_publication_and_for_every_instance() {
        let p = policy();
        let mut keys = Vec::new();
        step(&mut keys, &p, 0);
        // Right after start the waiting key has not been published long enough.
        let at_of = |r: Option<Rotation>| match r {
            Some(Rotation {
                switch: Action::Switch { at, .. },
                already_scheduled,
            }) => (at, already_scheduled),
            other => panic!("a rotation, not {other:?}"),
        };
        assert_eq!(
            at_of(plan_rotation(&keys, KeyAlg::Rs256, &p, 5)),
            (610, false)
        );
        // Later, it takes over one reload interval ahead.
        let rotation = plan_rotation(&keys, KeyAlg::Rs256, &p, 5000);
        assert_eq!(at_of(rotation.clone()), (5010, false));
        // A second request before the switch reports the same switch.
        apply(&mut keys, &[rotation.unwrap().switch], 5000);
        step(&mut keys, &p, 5000);
        assert_eq!(
            at_of(plan_rotation(&keys, KeyAlg::Rs256, &p, 5001)),
            (5010, true)
        );
    }

    #[test]
    fn revoking_the_signing_key_starts_the_next_one_at_once() {
        let p = policy();
        let mut keys = Vec::new();
        step(&mut keys, &p, 0);
        let first = signer(&keys, KeyAlg::Es256, 100)[0].clone();
        keys.iter_mut()
            .filter(|k| k.kid == first)
            .for_each(|k| k.state = KeyState::Revoked);
        let actions = plan(&keys, &p, 100);
        apply(&mut keys, &actions, 100);
        let now_signing = signer(&keys, KeyAlg::Es256, 100);
        assert_eq!(now_signing.len(), 1);
        assert_ne!(now_signing[0], first);
        assert!(keys
            .iter()
            .any(|k| k.alg == KeyAlg::Es256 && k.state == KeyState::Next));
    }

    #[test]
    fn revoking_a_successor_before_it_starts_leaves_no_gap() {
        let p = policy();
        let mut keys = Vec::new();
        step(&mut keys, &p, 0);
        let Some(Rotation { switch, .. }) = plan_rotation(&keys, KeyAlg::Es256, &p, 5000) else {
            panic!("a rotation");
        };
        apply(&mut keys, &[switch], 5000);
        step(&mut keys, &p, 5000);
        let (old, successor) = (
            signer(&keys, KeyAlg::Es256, 5000)[0].clone(),
            signer(&keys, KeyAlg::Es256, 5010)[0].clone(),
        );
        assert_ne!(old, successor);
        keys.iter_mut()
            .filter(|k| k.kid == successor)
            .for_each(|k| k.state = KeyState::Revoked);
        step(&mut keys, &p, 5001);
        for t in 5001..5030 {
            let s = signer(&keys, KeyAlg::Es256, t);
            assert_eq!(s.len(), 1, "at {t}: {keys:?}");
            assert_ne!(s[0], successor);
        }
        assert_eq!(signer(&keys, KeyAlg::Es256, 5009), vec![old.clone()]);
        assert_ne!(signer(&keys, KeyAlg::Es256, 5010), vec![old]);
    }

    #[test]
    fn a_dropped_algorithm_is_retired_not_rotated() {
        let mut p = policy();
        p.algs.push(KeyAlg::EdDsa);
        let mut keys = Vec::new();
        step(&mut keys, &p, 0);
        assert_eq!(signer(&keys, KeyAlg::EdDsa, 0).len(), 1);
        p.algs.pop();
        let actions = plan(&keys, &p, 100);
        apply(&mut keys, &actions, 100);
        assert_eq!(
            signer(&keys, KeyAlg::EdDsa, 109).len(),
            1,
            "stops one reload ahead"
        );
        assert!(signer(&keys, KeyAlg::EdDsa, 110).is_empty());
        assert!(!keys
            .iter()
            .any(|k| k.alg == KeyAlg::EdDsa && k.state == KeyState::Next));
    }
}
