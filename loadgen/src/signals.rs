//! SIGINT (Ctrl-C), SIGTERM and SIGHUP stop `loadgen run` and `loadgen
//! worker` the same graceful way: CI time-outs, `timeout(1)`, `docker stop`
//! and systemd send SIGTERM, a closed terminal SIGHUP, and each deserves the
//! logouts, the ledger's `end` record and the reports. The first signal asks
//! for the stop; the next one ends the process at once, with the shell's
//! code for a death by that signal (128 + its number: 130, 143, 129).

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// A signal that was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caught {
    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub name: &'static str,
    /// Its number.
    pub number: u8,
}

const INT: Caught = Caught {
    name: "SIGINT",
    number: 2,
};
const TERM: Caught = Caught {
    name: "SIGTERM",
    number: 15,
};
const HUP: Caught = Caught {
    name: "SIGHUP",
    number: 1,
};

/// The three streams, made once: a signal between two waits is not lost.
struct Streams {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Streams {
    async fn next(&mut self) -> Caught {
        tokio::select! {
            _ = self.int.recv() => INT,
            _ = self.term.recv() => TERM,
            _ = self.hup.recv() => HUP,
        }
    }
}

/// Starts listening (on the current runtime). The receiver holds the first
/// signal once it came; a second one exits the process at once, saying so
/// as `who` (`loadgen`, `loadgen worker`).
pub fn listen(who: &'static str) -> std::io::Result<watch::Receiver<Option<Caught>>> {
    let mut s = Streams {
        int: signal(SignalKind::interrupt())?,
        term: signal(SignalKind::terminate())?,
        hup: signal(SignalKind::hangup())?,
    };
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let first = s.next().await;
        let _ = tx.send(Some(first));
        let second = s.next().await;
        eprintln!(
            "{who}: {} again: exiting at once (students not logged out, the ledger without its end record, no report)",
            second.name
        );
        std::process::exit(128 + i32::from(second.number));
    });
    Ok(rx)
}

/// Waits for the first signal (forever when the listener is gone).
pub async fn first(rx: &mut watch::Receiver<Option<Caught>>) -> Caught {
    let got = rx.wait_for(Option::is_some).await.ok().and_then(|c| *c);
    match got {
        Some(c) => c,
        None => std::future::pending().await,
    }
}
