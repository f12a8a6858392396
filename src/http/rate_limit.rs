//! Per-IP rate limits (DESIGN.md §5) with actix-governor, one budget per endpoint
//! family, shared by all workers. A limit of 0 makes the limiter permissive.

use std::time::Duration;

use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{Governor, GovernorConfig, GovernorConfigBuilder, PeerIpKeyExtractor};

use crate::config::RateLimits;

type Config = GovernorConfig<PeerIpKeyExtractor, NoOpMiddleware>;

/// The limiters of one server.
#[derive(Clone)]
pub struct Limiters {
    login: Config,
    authorize: Config,
    token: Config,
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Limiters {
        Limiters {
            login: budget(limits.login_per_minute, Duration::from_secs(60)),
            authorize: budget(limits.authorize_per_minute, Duration::from_secs(60)),
            token: budget(limits.token_per_second, Duration::from_secs(1)),
        }
    }

    /// Login form submissions.
    pub fn login(&self) -> Governor<PeerIpKeyExtractor, NoOpMiddleware> {
        Governor::new(&self.login)
    }

    /// Authorization requests.
    pub fn authorize(&self) -> Governor<PeerIpKeyExtractor, NoOpMiddleware> {
        Governor::new(&self.authorize)
    }

    /// Token, revocation and introspection requests.
    pub fn token(&self) -> Governor<PeerIpKeyExtractor, NoOpMiddleware> {
        Governor::new(&self.token)
    }
}

/// `count` requests per `window`, with a burst of `count`; 0: no limit.
fn budget(count: u32, window: Duration) -> Config {
    let mut builder = GovernorConfigBuilder::default();
    if count == 0 {
        builder.permissive(true);
    } else {
        builder.period(window / count).burst_size(count);
    }
    // `None` only for a zero period or burst, which a non-zero count never gives.
    builder.finish().unwrap_or_default()
}
