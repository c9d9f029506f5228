//! B2BUA leg pairing: which inbound leg each outbound leg belongs to, so an event on one
//! side finds the other.
//!
//! A leg is one dialog (or would-be dialog) of ours, named by its Call-ID and our tag: both
//! are ours to choose on outbound legs and known from the first response on inbound ones,
//! and stay fixed while the peer's tag may still change (forking, early dialogs).

use crate::dialog::DialogId;
use sip_proto::typed::{CallId, From, To};
use sip_proto::{Request, Response};
use std::collections::HashMap;
use std::fmt;

/// One leg: Call-ID and our tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegKey {
    /// Call-ID of the leg.
    pub call_id: String,
    /// Our tag on it.
    pub local_tag: String,
}

impl LegKey {
    /// A leg key.
    pub fn new(call_id: &str, local_tag: &str) -> LegKey {
        LegKey {
            call_id: call_id.to_owned(),
            local_tag: local_tag.to_owned(),
        }
    }

    /// The leg of a request we received: our tag is in To.
    pub fn of_incoming_request(request: &Request) -> Option<LegKey> {
        let CallId(call_id) = request.headers.typed::<CallId>().ok()??;
        let to = request.headers.typed::<To>().ok()??;
        Some(LegKey::new(&call_id, to.tag()?))
    }

    /// The leg of a response we received: our tag is in From.
    pub fn of_incoming_response(response: &Response) -> Option<LegKey> {
        let CallId(call_id) = response.headers.typed::<CallId>().ok()??;
        let from = response.headers.typed::<From>().ok()??;
        Some(LegKey::new(&call_id, from.tag()?))
    }
}

impl std::convert::From<&DialogId> for LegKey {
    fn from(id: &DialogId) -> LegKey {
        LegKey::new(&id.call_id, &id.local_tag)
    }
}

impl fmt::Display for LegKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};tag={}", self.call_id, self.local_tag)
    }
}

/// Names one bridged call: an inbound leg and its outbound legs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BridgeId(pub u64);

/// One call through the B2BUA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    /// Its id.
    pub id: BridgeId,
    /// The caller's leg.
    pub inbound: LegKey,
    /// Legs we opened towards agents or a trunk, in order; several ring in parallel.
    pub outbound: Vec<LegKey>,
    /// The outbound leg that answered, once one has.
    pub answered: Option<LegKey>,
}

/// Why a pairing change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// No bridge with this id.
    #[error("no bridge {0:?}")]
    NoSuchBridge(BridgeId),
    /// The leg belongs to a bridge already.
    #[error("leg {0} is already paired")]
    LegInUse(LegKey),
    /// The leg is not an outbound leg of this bridge.
    #[error("leg {0} is not an outbound leg of this bridge")]
    NotOutbound(LegKey),
    /// Another outbound leg answered first.
    #[error("bridge already answered by {0}")]
    AlreadyAnswered(LegKey),
}

/// Pairs legs into bridges.
///
/// Driving: [`open`](Self::open) when a call arrives, [`add_outbound`](Self::add_outbound)
/// for each leg rung, [`answer`](Self::answer) when one answers (it returns the others, to
/// CANCEL), [`peers`](Self::peers) to relay a BYE, re-INVITE or provisional response across,
/// [`remove_leg`](Self::remove_leg) / [`close`](Self::close) when legs end.
#[derive(Debug, Clone, Default)]
pub struct LegPairs {
    next_id: u64,
    bridges: HashMap<BridgeId, Bridge>,
    legs: HashMap<LegKey, BridgeId>,
}

impl LegPairs {
    /// No bridges.
    pub fn new() -> LegPairs {
        LegPairs::default()
    }

    /// A bridge for a new inbound leg.
    pub fn open(&mut self, inbound: LegKey) -> Result<BridgeId, BridgeError> {
        if self.legs.contains_key(&inbound) {
            return Err(BridgeError::LegInUse(inbound));
        }
        let id = BridgeId(self.next_id);
        self.next_id += 1;
        self.legs.insert(inbound.clone(), id);
        self.bridges.insert(
            id,
            Bridge {
                id,
                inbound,
                outbound: Vec::new(),
                answered: None,
            },
        );
        Ok(id)
    }

    /// Adds a leg we are ringing for `bridge`.
    pub fn add_outbound(&mut self, bridge: BridgeId, leg: LegKey) -> Result<(), BridgeError> {
        if self.legs.contains_key(&leg) {
            return Err(BridgeError::LegInUse(leg));
        }
        let b = self
            .bridges
            .get_mut(&bridge)
            .ok_or(BridgeError::NoSuchBridge(bridge))?;
        if let Some(answered) = &b.answered {
            return Err(BridgeError::AlreadyAnswered(answered.clone()));
        }
        b.outbound.push(leg.clone());
        self.legs.insert(leg, bridge);
        Ok(())
    }

    /// Records that outbound `leg` answered; returns the other outbound legs, which lost and
    /// must be cancelled (and are unpaired here).
    pub fn answer(&mut self, leg: &LegKey) -> Result<Vec<LegKey>, BridgeError> {
        let id = *self
            .legs
            .get(leg)
            .ok_or_else(|| BridgeError::NotOutbound(leg.clone()))?;
        let b = self
            .bridges
            .get_mut(&id)
            .ok_or(BridgeError::NoSuchBridge(id))?;
        if !b.outbound.contains(leg) {
            return Err(BridgeError::NotOutbound(leg.clone()));
        }
        if let Some(answered) = &b.answered {
            return Err(BridgeError::AlreadyAnswered(answered.clone()));
        }
        b.answered = Some(leg.clone());
        let losers: Vec<LegKey> = b.outbound.iter().filter(|l| *l != leg).cloned().collect();
        b.outbound.retain(|l| l == leg);
        for l in &losers {
            self.legs.remove(l);
        }
        Ok(losers)
    }

    /// The legs on the other side of `leg`: for the inbound leg, the answered leg or else
    /// every ringing one; for an outbound leg, the inbound leg.
    pub fn peers(&self, leg: &LegKey) -> Vec<LegKey> {
        let Some(b) = self.legs.get(leg).and_then(|id| self.bridges.get(id)) else {
            return Vec::new();
        };
        if b.inbound == *leg {
            match &b.answered {
                Some(a) => vec![a.clone()],
                None => b.outbound.clone(),
            }
        } else {
            vec![b.inbound.clone()]
        }
    }

    /// The bridge a leg belongs to.
    pub fn bridge_of(&self, leg: &LegKey) -> Option<&Bridge> {
        self.bridges.get(self.legs.get(leg)?)
    }

    /// Unpairs one leg (it ended). Removing the inbound leg closes the bridge and returns the
    /// outbound legs still open; removing an outbound leg returns nothing, and if it was the
    /// last one ringing the caller's leg is left alone for the TU to decide (next agent,
    /// voicemail, busy).
    pub fn remove_leg(&mut self, leg: &LegKey) -> Vec<LegKey> {
        let Some(id) = self.legs.remove(leg) else {
            return Vec::new();
        };
        let Some(b) = self.bridges.get_mut(&id) else {
            return Vec::new();
        };
        if b.inbound == *leg {
            return self.close(id);
        }
        b.outbound.retain(|l| l != leg);
        if b.answered.as_ref() == Some(leg) {
            b.answered = None;
        }
        Vec::new()
    }

    /// Removes a bridge; returns its legs that were still paired (inbound excluded if it was
    /// already removed).
    pub fn close(&mut self, bridge: BridgeId) -> Vec<LegKey> {
        let Some(b) = self.bridges.remove(&bridge) else {
            return Vec::new();
        };
        let mut left = Vec::new();
        for l in std::iter::once(b.inbound).chain(b.outbound) {
            if self.legs.remove(&l).is_some() {
                left.push(l);
            }
        }
        left
    }

    /// Number of bridges.
    pub fn len(&self) -> usize {
        self.bridges.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bridges.is_empty()
    }
}
