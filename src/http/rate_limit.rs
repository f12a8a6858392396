//! Per-client-address rate limits (DESIGN.md §5) with actix-governor: one budget per
//! endpoint family, shared by all workers, keyed on the client address of
//! [`client_address`](super::client_address) (so a trusted proxy's clients do not
//! share one bucket). A refused request gets 429 with `Retry-After` and a body in
//! its endpoint's own shape: OAuth JSON at the token, introspection, revocation and
//! UserInfo endpoints, a page at the login and authorization pages. A limit of 0
//! makes the limiter permissive. [`Limiters::prune`] forgets idle addresses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::NotUntil;
use actix_governor::{
    Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use ipnet::IpNet;

use super::{client_address, oauth_response, pages};
use crate::config::{ForwardedHeader, RateLimits};

/// How a refused request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// RFC 6749 §5.2-style JSON.
    OAuth,
    /// The same JSON, readable cross-origin like every UserInfo answer.
    Bearer,
    /// An HTML page.
    Page,
}

/// The key of a request: its client address.
#[derive(Clone)]
pub struct ClientKey {
    trusted: Arc<[IpNet]>,
    header: ForwardedHeader,
    shape: Shape,
}

impl KeyExtractor for ClientKey {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, Self::KeyExtractionError> {
        client_address::resolve(
            req.peer_addr().map(|a| a.ip()),
            req.headers(),
            &self.trusted,
            self.header,
        )
        .ok_or_else(|| SimpleKeyExtractionError::new("the client address is unknown"))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _: HttpResponseBuilder,
    ) -> HttpResponse {
        // Whole seconds, rounded up: `Retry-After: 0` would invite an instant retry.
        let wait = negative.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = match self.shape {
            Shape::OAuth => oauth_response::too_many_requests(),
            Shape::Bearer => {
                let mut response = oauth_response::too_many_requests();
                response.headers_mut().insert(
                    actix_web::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                response
            }
            Shape::Page => pages::error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many requests came from your network in a short time. Wait a moment, then try again.",
            ),
        };
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        response
    }
}

type Config = GovernorConfig<ClientKey, NoOpMiddleware>;

/// The limiters of one server, one per endpoint family.
#[derive(Clone)]
pub struct Limiters {
    login: Config,
    authorize: Config,
    token: Config,
    introspection: Config,
    userinfo: Config,
    admin: Config,
}

impl Limiters {
    pub fn new(
        limits: &RateLimits,
        trusted_proxies: &[IpNet],
        header: ForwardedHeader,
    ) -> Result<Limiters, BudgetError> {
        let trusted: Arc<[IpNet]> = trusted_proxies.into();
        let minute = Duration::from_secs(60);
        let second = Duration::from_secs(1);
        let budget = |count: u32, window: Duration, shape: Shape| {
            budget(
                count,
                window,
                ClientKey {
                    trusted: trusted.clone(),
                    header,
                    shape,
                },
            )
        };
        Ok(Limiters {
            login: budget(limits.login_per_minute, minute, Shape::Page)?,
            authorize: budget(limits.authorize_per_minute, minute, Shape::Page)?,
            token: budget(limits.token_per_second, second, Shape::OAuth)?,
            introspection: budget(limits.introspection_per_second, second, Shape::OAuth)?,
            userinfo: budget(limits.userinfo_per_second, second, Shape::Bearer)?,
            admin: budget(limits.admin_per_minute, minute, Shape::Page)?,
        })
    }

    /// Login form submissions.
    pub fn login(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.login)
    }

    /// Authorization requests.
    pub fn authorize(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.authorize)
    }

    /// Token requests.
    pub fn token(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.token)
    }

    /// Introspection and revocation requests.
    pub fn introspection(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.introspection)
    }

    /// UserInfo requests.
    pub fn userinfo(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.userinfo)
    }

    /// Form submissions to the admin UI, the account page and the setup page.
    pub fn admin(&self) -> Governor<ClientKey, NoOpMiddleware> {
        Governor::new(&self.admin)
    }

    /// Forgets addresses whose budget is full again, and returns the memory; the
    /// number of addresses still tracked.
    pub fn prune(&self) -> usize {
        [
            &self.login,
            &self.authorize,
            &self.token,
            &self.introspection,
            &self.userinfo,
            &self.admin,
        ]
        .iter()
        .map(|config| {
            let limiter = config.limiter();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            limiter.len()
        })
        .sum()
    }
}

/// A budget actix-governor refused (a zero period or burst, which no count allows).
#[derive(Debug, thiserror::Error)]
#[error("rate limit of {0} per {1:?} cannot be configured")]
pub struct BudgetError(u32, Duration);

/// `count` requests per `window`, with a burst of `count`; 0: no limit.
fn budget(count: u32, window: Duration, key: ClientKey) -> Result<Config, BudgetError> {
    let mut builder = GovernorConfigBuilder::default().key_extractor(key);
    if count == 0 {
        builder.permissive(true);
    } else {
        builder.period(window / count).burst_size(count);
    }
    builder.finish().ok_or(BudgetError(count, window))
}
