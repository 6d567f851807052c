//! `ListingState.to_json()`: the bytes of `orjson.dumps(state.to_dict(),
//! option=orjson.OPT_NON_STR_KEYS)` (what the processor stores), written directly.
//! Mirrors `state::state_to_dict` field by field. A state holding a value orjson
//! would write its own way (a float, a non-JSON object) is written by orjson itself.

use crate::state::*;
use crate::val::{Payload, Val};

pub struct Unplain;

pub struct W {
    pub b: Vec<u8>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `bytes` holds a control character, `"` or `\`.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap());
        // a byte < 0x20 (high bit clear), or equal to 0x22 or 0x5c
        let lt = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let q = x ^ (ONES * 0x22);
        let bs = x ^ (ONES * 0x5c);
        let eq = (q.wrapping_sub(ONES) & !q & HIGH) | (bs.wrapping_sub(ONES) & !bs & HIGH);
        if lt | eq != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

impl W {
    fn raw(&mut self, s: &str) {
        self.b.extend_from_slice(s.as_bytes());
    }
    fn byte(&mut self, c: u8) {
        self.b.push(c);
    }
    fn s(&mut self, s: &str) {
        self.b.push(b'"');
        let bytes = s.as_bytes();
        // the usual case: nothing to escape (checked 8 bytes at a time)
        if !needs_escape(bytes) {
            self.b.extend_from_slice(bytes);
            self.b.push(b'"');
            return;
        }
        let mut start = 0;
        for (i, &c) in bytes.iter().enumerate() {
            if c >= 0x20 && c != b'"' && c != b'\\' {
                continue;
            }
            self.b.extend_from_slice(&bytes[start..i]);
            match c {
                b'"' => self.b.extend_from_slice(b"\\\""),
                b'\\' => self.b.extend_from_slice(b"\\\\"),
                0x08 => self.b.extend_from_slice(b"\\b"),
                0x09 => self.b.extend_from_slice(b"\\t"),
                0x0a => self.b.extend_from_slice(b"\\n"),
                0x0c => self.b.extend_from_slice(b"\\f"),
                0x0d => self.b.extend_from_slice(b"\\r"),
                _ => {
                    self.b.extend_from_slice(b"\\u00");
                    self.b.push(HEX[(c >> 4) as usize]);
                    self.b.push(HEX[(c & 15) as usize]);
                }
            }
            start = i + 1;
        }
        self.b.extend_from_slice(&bytes[start..]);
        self.b.push(b'"');
    }
    fn os(&mut self, s: &Option<String>) {
        match s {
            Some(s) => self.s(s),
            None => self.raw("null"),
        }
    }
    fn i(&mut self, v: i64) {
        let mut buf = [0u8; 20];
        let mut n = buf.len();
        let neg = v < 0;
        let mut u = v.unsigned_abs();
        loop {
            n -= 1;
            buf[n] = b'0' + (u % 10) as u8;
            u /= 10;
            if u == 0 {
                break;
            }
        }
        if neg {
            self.b.push(b'-');
        }
        self.b.extend_from_slice(&buf[n..]);
    }
    fn oi(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.i(v),
            None => self.raw("null"),
        }
    }
    fn bool(&mut self, v: bool) {
        self.raw(if v { "true" } else { "false" });
    }
    fn key(&mut self, k: &str) {
        self.s(k);
        self.byte(b':');
    }
    fn val(&mut self, v: &Val) -> Result<(), Unplain> {
        match v {
            Val::None => self.raw("null"),
            Val::Bool(b) => self.bool(*b),
            Val::Int(i) => self.i(*i),
            Val::Str(s) => self.s(s),
            Val::List(items) => {
                self.byte(b'[');
                for (n, x) in items.iter().enumerate() {
                    if n > 0 {
                        self.byte(b',');
                    }
                    self.val(x)?;
                }
                self.byte(b']');
            }
            Val::Dict(d) => self.payload(d)?,
            Val::Float(_) | Val::Py(_) => return Err(Unplain),
        }
        Ok(())
    }
    fn payload(&mut self, d: &Payload) -> Result<(), Unplain> {
        self.byte(b'{');
        for (n, (k, v)) in d.iter().enumerate() {
            if n > 0 {
                self.byte(b',');
            }
            self.key(k);
            self.val(v)?;
        }
        self.byte(b'}');
        Ok(())
    }
}

fn ev(w: &mut W, e: &Ev) -> Result<(), Unplain> {
    w.byte(b'[');
    w.i(e.ts);
    w.byte(b',');
    w.i(e.seq);
    w.byte(b',');
    w.s(&e.event_id);
    w.byte(b',');
    w.s(&e.etype);
    w.byte(b',');
    w.s(&e.src);
    w.byte(b',');
    w.s(&e.actor_kind);
    w.byte(b',');
    w.os(&e.actor_code);
    w.byte(b',');
    w.payload(&e.payload)?;
    w.byte(b']');
    Ok(())
}

fn obligation(w: &mut W, ob: &Obligation) {
    w.raw("{\"rule\":");
    w.s(&ob.rule);
    w.raw(",\"trigger\":");
    w.s(&ob.trigger);
    w.raw(",\"trigger_id\":");
    w.s(&ob.trigger_id);
    w.raw(",\"ts\":");
    w.i(ob.ts);
    w.raw(",\"measure\":");
    w.os(&ob.measure);
    w.raw(",\"resp_code\":");
    w.os(&ob.resp_code);
    w.raw(",\"source\":");
    w.s(&ob.source);
    w.raw(",\"due\":");
    w.os(&ob.due);
    w.raw(",\"prov\":");
    w.bool(ob.prov);
    w.raw(",\"cal\":");
    w.os(&ob.cal);
    w.raw(",\"answer\":");
    w.os(&ob.answer);
    w.raw(",\"answer_ts\":");
    w.oi(ob.answer_ts);
    w.raw(",\"answer_id\":");
    w.os(&ob.answer_id);
    w.raw(",\"state_violation\":");
    match &ob.state_violation {
        Some((a, ts, c)) => {
            w.byte(b'[');
            w.s(a);
            w.byte(b',');
            w.i(*ts);
            w.byte(b',');
            w.s(c);
            w.byte(b']');
        }
        None => w.raw("null"),
    }
    if ob.clock {
        w.raw(",\"clock\":true");
    }
    w.byte(b'}');
}

fn fold(w: &mut W, f: &Fold) -> Result<(), Unplain> {
    w.raw("{\"status\":");
    w.os(&f.status);
    w.raw(",\"court\":");
    w.os(&f.court);
    w.raw(",\"relisted\":");
    w.bool(f.relisted);
    w.raw(",\"expired\":");
    w.bool(f.expired);
    w.raw(",\"served\":");
    w.bool(f.served);
    w.raw(",\"risk_notice\":");
    w.bool(f.risk_notice);
    w.raw(",\"term_years\":");
    w.val(&f.term_years)?;
    if f.term_expires_at == TermKey::InPlace {
        w.raw(",\"term_expires\":");
        w.val(&f.term_expires)?;
    }
    w.raw(",\"debtor\":");
    w.val(&f.debtor)?;
    w.raw(",\"last_decision\":");
    w.os(&f.last_decision);
    w.raw(",\"last_exit\":");
    w.os(&f.last_exit);
    w.raw(",\"published\":");
    w.os(&f.published);
    w.raw(",\"not_for_publication\":");
    w.bool(f.not_for_publication);
    w.raw(",\"pending_application\":");
    w.bool(f.pending_application);
    w.raw(",\"applicant_requested\":");
    w.bool(f.applicant_requested);
    w.raw(",\"applicant_deletion\":");
    match &f.applicant_deletion {
        Some((s, d)) => {
            w.byte(b'[');
            w.s(s);
            w.byte(b',');
            w.s(d);
            w.byte(b']');
        }
        None => w.raw("null"),
    }
    w.raw(",\"procedure_terminated\":");
    w.bool(f.procedure_terminated);
    w.raw(",\"empty_searches\":");
    w.i(f.empty_searches);
    w.raw(",\"measures\":{");
    for (n, (k, m)) in f.measures.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        w.key(k);
        w.byte(b'[');
        w.os(&m.agency);
        w.byte(b',');
        w.s(&m.state);
        w.byte(b',');
        w.i(m.since);
        w.byte(b',');
        w.s(&m.src);
        w.byte(b',');
        w.val(&m.basis)?;
        w.byte(b',');
        w.val(&m.until)?;
        w.byte(b']');
    }
    w.raw("},\"changes\":[");
    for (n, c) in f.changes.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        w.byte(b'[');
        w.s(&c.measure);
        w.byte(b',');
        w.os(&c.agency);
        w.byte(b',');
        w.s(&c.new);
        w.byte(b',');
        w.os(&c.previous);
        w.byte(b',');
        w.i(c.ts);
        w.byte(b',');
        w.s(&c.src);
        w.byte(b',');
        w.val(&c.reason)?;
        w.byte(b',');
        w.val(&c.basis)?;
        w.byte(b',');
        w.val(&c.until)?;
        w.byte(b']');
    }
    w.raw("],\"obligations\":{");
    for (n, (k, ob)) in f.obligations.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        w.key(k);
        obligation(w, ob);
    }
    w.raw("},\"act_checks\":{");
    for (n, (k, a)) in f.act_checks.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        w.key(k);
        w.raw("{\"rule\":");
        w.s(&a.rule);
        w.raw(",\"trigger\":");
        w.s(&a.trigger);
        w.raw(",\"response\":");
        w.os(&a.response);
        w.raw(",\"verdict\":");
        w.s(&a.verdict);
        w.raw(",\"ts\":");
        w.i(a.ts);
        w.raw(",\"act_id\":");
        w.s(&a.act_id);
        w.raw(",\"reason\":");
        w.s(&a.reason);
        w.byte(b'}');
    }
    w.byte(b'}');
    if f.term_expires_at == TermKey::AtEnd {
        w.raw(",\"term_expires\":");
        w.val(&f.term_expires)?;
    }
    w.byte(b'}');
    Ok(())
}

fn slot(w: &mut W, s: &Slot) -> Result<(), Unplain> {
    match s {
        Slot::Cause(c) => {
            w.byte(b'[');
            w.os(c);
            w.byte(b']');
        }
        Slot::Last(k, c) => {
            w.byte(b'[');
            w.s(k);
            w.byte(b',');
            w.os(c);
            w.byte(b']');
        }
        Slot::V { cause, verdict, detected, response, act_ts, now } => {
            w.byte(b'[');
            w.os(cause);
            w.byte(b',');
            w.s(verdict);
            w.byte(b',');
            w.s(detected);
            w.byte(b',');
            w.os(response);
            w.byte(b',');
            w.oi(*act_ts);
            w.byte(b',');
            w.oi(*now);
            w.byte(b']');
        }
        Slot::M(c, v, a) => {
            w.byte(b'[');
            w.os(c);
            w.byte(b',');
            w.s(v);
            w.byte(b',');
            w.os(a);
            w.byte(b']');
        }
        Slot::W(c, ts, r, ob) => {
            w.byte(b'[');
            w.os(c);
            w.byte(b',');
            w.i(*ts);
            w.byte(b',');
            w.s(r);
            w.byte(b',');
            obligation(w, ob);
            w.byte(b']');
        }
        Slot::L(k) => w.s(k),
        Slot::A { cause, verdict, ts, rule, trigger, response, withdrawn } => {
            w.byte(b'[');
            w.os(cause);
            w.byte(b',');
            w.s(verdict);
            w.byte(b',');
            w.i(*ts);
            w.byte(b',');
            w.s(rule);
            w.byte(b',');
            w.s(trigger);
            w.byte(b',');
            w.os(response);
            if let Some((wts, by)) = withdrawn {
                w.byte(b',');
                w.i(*wts);
                w.byte(b',');
                w.s(by);
            }
            w.byte(b']');
        }
        Slot::Other(v) => w.val(v)?,
    }
    Ok(())
}

/// The state as orjson writes its `to_dict()`; Err when orjson must write it.
pub fn state_json(st: &StateData) -> Result<Vec<u8>, Unplain> {
    let mut w = W { b: Vec::with_capacity(16384) };
    w.raw("{\"v\":2,\"listing_id\":");
    w.s(&st.listing_id);
    w.raw(",\"jurisdiction\":");
    w.s(&st.jurisdiction);
    w.raw(",\"events\":[");
    for (n, e) in st.events.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        ev(&mut w, e)?;
    }
    w.raw("],\"fold\":");
    fold(&mut w, &st.fold)?;
    w.raw(",\"now\":");
    w.oi(st.now);
    w.raw(",\"emitted\":{");
    for (n, (k, s)) in st.emitted.iter().enumerate() {
        if n > 0 {
            w.byte(b',');
        }
        w.key(k);
        slot(&mut w, s)?;
    }
    w.raw("}}");
    Ok(w.b)
}
