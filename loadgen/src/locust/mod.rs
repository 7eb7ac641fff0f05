//! Running under a real Locust master as a worker: the wire protocol, the
//! transport (ZeroMQ DEALER), Locust-format statistics and the worker itself.

mod blocks;
pub mod ids;
pub mod protocol;
pub mod runs;
mod sections;
pub mod stats;
pub mod transport;
mod users;
pub mod worker;
