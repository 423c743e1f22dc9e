//! A video call in the browser: what the page shows (plain signals, on both sides) and, in the
//! browser only, the WebRTC mesh behind it ([`rtc`]): one peer connection per other seat,
//! negotiated with the perfect negotiation pattern over the chat socket.

#[cfg(feature = "hydrate")]
pub mod rtc;

use crate::models::meeting::{CallState, SeatId};
use leptos::prelude::*;

/// Where the user is with the call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Phase {
    /// Looking at their own preview, not in the call yet.
    #[default]
    Preview,
    Joining,
    InCall,
    /// Out of the call, with the reason shown.
    Out(String),
}

/// Someone else in the call, as their tile shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub seat: SeatId,
    pub user_id: i64,
    pub name: String,
    pub state: CallState,
    pub joined_at: i64,
    /// The peer connection's state (`new`, `connecting`, `connected`, `failed`…).
    pub connection: String,
}

/// Everything the call page renders from.
#[derive(Clone, Copy)]
pub struct CallUi {
    pub phase: RwSignal<Phase>,
    pub tiles: RwSignal<Vec<Tile>>,
    /// What this tab shares.
    pub mine: RwSignal<CallState>,
    pub my_seat: RwSignal<Option<SeatId>>,
    pub host_id: RwSignal<i64>,
    pub locked: RwSignal<bool>,
    /// The call's chat room, once joined.
    pub room: RwSignal<Option<i64>>,
    /// A refusal or failure to show.
    pub error: RwSignal<Option<String>>,
    /// Why there is no camera or microphone, if there is none.
    pub media_note: RwSignal<Option<String>>,
    /// Bumped whenever a video stream arrives, so tiles attach it.
    pub streams: RwSignal<u64>,
    /// Per seat, what the last second of stats said (kept apart from the tiles, which are
    /// rebuilt only when someone's state changes).
    pub quality: RwSignal<std::collections::HashMap<SeatId, LegQuality>>,
    /// The seat heard loudest in the last second, if anyone is speaking.
    pub speaker: RwSignal<Option<SeatId>>,
    /// Microphones and cameras to choose from: (device id, label).
    pub microphones: RwSignal<Vec<(String, String)>>,
    pub cameras: RwSignal<Vec<(String, String)>>,
    /// How loud this tab's microphone is, 0 to 1 (the pre-join meter).
    pub mic_level: RwSignal<f64>,
}

/// How one leg of the mesh is doing, from `getStats`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegQuality {
    /// Share of packets lost in the last interval, 0 to 1.
    pub loss: f64,
    /// Round trip in milliseconds, if known.
    pub rtt_ms: Option<f64>,
    /// Incoming audio level, 0 to 1.
    pub audio_level: f64,
}

impl LegQuality {
    /// `good`, `fair` or `poor`: under 2 % loss and 250 ms is good, over 8 % or 500 ms poor.
    pub fn label(&self) -> &'static str {
        let rtt = self.rtt_ms.unwrap_or(0.0);
        if self.loss > 0.08 || rtt > 500.0 {
            "poor"
        } else if self.loss > 0.02 || rtt > 250.0 {
            "fair"
        } else {
            "good"
        }
    }
}

/// Who is speaking: the loudest seat above a floor of background noise.
pub fn active_speaker(levels: &[(SeatId, f64)]) -> Option<SeatId> {
    const FLOOR: f64 = 0.02;
    levels.iter().filter(|(_, level)| *level > FLOOR).max_by(|a, b| a.1.total_cmp(&b.1)).map(|(seat, _)| *seat)
}

/// A level from 0 to 1 for audio samples: their root mean square, scaled so speech fills the
/// meter (a normal voice has an RMS around 0.05-0.2).
pub fn level_of(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let rms = (samples.iter().map(|s| f64::from(*s) * f64::from(*s)).sum::<f64>() / samples.len() as f64).sqrt();
    (rms * 4.0).min(1.0)
}

/// What the microphone meter shows after a reading: the new level, or the last one shown
/// falling by a third per reading (100 ms), whichever is higher. A meter that holds its peaks
/// and falls back slowly shows a short sound long enough to be seen; one that jumped to each
/// reading would flicker and mostly read zero between syllables.
pub fn held_level(shown: f64, reading: f64) -> f64 {
    let fallen = shown * (2.0 / 3.0);
    if fallen < 0.005 { reading } else { reading.max(fallen) }
}

/// Lost packets as a share of those expected, between two readings of the counters.
pub fn loss_between(before: (f64, f64), after: (f64, f64)) -> f64 {
    let (received, lost) = (after.0 - before.0, after.1 - before.1);
    if received + lost <= 0.0 { 0.0 } else { (lost / (received + lost)).clamp(0.0, 1.0) }
}

impl CallUi {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Preview),
            tiles: RwSignal::new(Vec::new()),
            mine: RwSignal::new(CallState { mic: true, camera: true, screen: false, hand: false }),
            my_seat: RwSignal::new(None),
            host_id: RwSignal::new(0),
            locked: RwSignal::new(false),
            room: RwSignal::new(None),
            error: RwSignal::new(None),
            media_note: RwSignal::new(None),
            streams: RwSignal::new(0),
            quality: RwSignal::new(Default::default()),
            speaker: RwSignal::new(None),
            microphones: RwSignal::new(Vec::new()),
            cameras: RwSignal::new(Vec::new()),
            mic_level: RwSignal::new(0.0),
        }
    }
}

impl Default for CallUi {
    fn default() -> Self {
        Self::new()
    }
}

/// What perfect negotiation does with a description that arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// The impolite side's own offer wins a collision: the other's is dropped (and so are the
    /// candidates that belong to it).
    Ignore,
    /// Apply it; for an offer, answer (the polite side's pending offer is rolled back first,
    /// inside `setRemoteDescription`).
    Apply { answer: bool },
}

/// The rule of MDN's and the W3C's perfect negotiation: an offer collides when this side is
/// making one or is not stable; the impolite side then ignores it, the polite side yields.
pub fn incoming(polite: bool, is_offer: bool, making_offer: bool, stable: bool) -> Incoming {
    let collision = is_offer && (making_offer || !stable);
    if collision && !polite { Incoming::Ignore } else { Incoming::Apply { answer: is_offer } }
}

/// Columns of a grid for `n` tiles: 1, 2, then 2 (up to 4), then 3.
pub fn grid_columns(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        2..=4 => 2,
        _ => 3,
    }
}

/// Raised hands, in the order their seats were taken.
pub fn raised_hands(tiles: &[Tile]) -> Vec<String> {
    let mut up: Vec<&Tile> = tiles.iter().filter(|t| t.state.hand).collect();
    up.sort_by_key(|t| (t.joined_at, t.seat));
    up.into_iter().map(|t| t.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(seat: SeatId, joined_at: i64, hand: bool) -> Tile {
        Tile { seat, user_id: seat as i64, name: format!("p{seat}"), state: CallState { hand, ..Default::default() }, joined_at, connection: "new".into() }
    }

    #[test]
    fn the_meter_holds_a_short_sound_then_falls_to_zero() {
        // A 20 ms beep seen by one reading, then silence.
        let mut shown = held_level(0.0, 0.6);
        assert_eq!(shown, 0.6);
        shown = held_level(shown, 0.0);
        assert!((shown - 0.4).abs() < 1e-9, "one reading later it still shows most of it: {shown}");
        for _ in 0..20 {
            shown = held_level(shown, 0.0);
        }
        assert_eq!(shown, 0.0, "two seconds of silence read zero");
        // A louder sound shows at once.
        assert_eq!(held_level(0.3, 0.9), 0.9);
    }

    #[test]
    fn hands_are_listed_in_join_order() {
        let tiles = [tile(3, 300, true), tile(1, 100, false), tile(2, 200, true)];
        assert_eq!(raised_hands(&tiles), vec!["p2", "p3"]);
    }

    /// Both sides offer at once (glare), each way round: the impolite side keeps its offer and
    /// ignores the other's; the polite side rolls back and answers. One offer survives, so the
    /// pair always agrees.
    #[test]
    fn glare_is_settled_the_same_way_from_either_side() {
        for (a_polite, b_polite) in [(true, false), (false, true)] {
            let at_a = incoming(a_polite, true, true, false);
            let at_b = incoming(b_polite, true, true, false);
            let ignored = [at_a, at_b].iter().filter(|d| **d == Incoming::Ignore).count();
            assert_eq!(ignored, 1, "exactly one offer is dropped");
            let polite_side = if a_polite { at_a } else { at_b };
            assert_eq!(polite_side, Incoming::Apply { answer: true });
        }
    }

    #[test]
    fn without_a_collision_everything_is_applied() {
        assert_eq!(incoming(false, true, false, true), Incoming::Apply { answer: true });
        // An answer to our own offer, while not stable: applied, not answered.
        assert_eq!(incoming(false, false, false, false), Incoming::Apply { answer: false });
        assert_eq!(incoming(true, false, true, false), Incoming::Apply { answer: false });
        // An offer arriving while we are mid-negotiation (have-local-offer) collides.
        assert_eq!(incoming(false, true, false, false), Incoming::Ignore);
    }

    #[test]
    fn the_level_meter_reads_silence_as_zero_and_saturates() {
        assert_eq!(level_of(&[]), 0.0);
        assert_eq!(level_of(&[0.0; 128]), 0.0);
        assert!((level_of(&[0.1, -0.1, 0.1, -0.1]) - 0.4).abs() < 1e-6);
        assert_eq!(level_of(&[1.0; 16]), 1.0);
    }

    #[test]
    fn the_speaker_is_the_loudest_above_the_noise_floor() {
        assert_eq!(active_speaker(&[(1, 0.01), (2, 0.3), (3, 0.1)]), Some(2));
        assert_eq!(active_speaker(&[(1, 0.01), (2, 0.0)]), None);
        assert_eq!(active_speaker(&[]), None);
    }

    #[test]
    fn quality_follows_loss_and_round_trip() {
        assert_eq!(loss_between((100.0, 0.0), (200.0, 0.0)), 0.0);
        assert!((loss_between((100.0, 2.0), (190.0, 12.0)) - 0.1).abs() < 1e-9);
        assert_eq!(loss_between((5.0, 1.0), (5.0, 1.0)), 0.0, "nothing new, nothing lost");
        let q = |loss, rtt| LegQuality { loss, rtt_ms: Some(rtt), audio_level: 0.0 }.label();
        assert_eq!((q(0.0, 20.0), q(0.05, 20.0), q(0.0, 300.0), q(0.1, 20.0), q(0.0, 900.0)), ("good", "fair", "fair", "poor", "poor"));
    }

    #[test]
    fn the_grid_fits_the_number_of_people() {
        assert_eq!((1..=8).map(grid_columns).collect::<Vec<_>>(), vec![1, 2, 2, 2, 3, 3, 3, 3]);
    }
}
