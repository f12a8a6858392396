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
use actix_web::middleware::Condition;
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

/// A family's limiter; `None` when its limit is 0 (off): then no middleware runs
/// at all (a permissive governor would still count every request).
type Limit = Option<Config>;

/// The middleware of one family: the governor, or nothing.
pub type LimitMiddleware = Condition<Governor<ClientKey, NoOpMiddleware>>;

/// The limiters of one server, one per endpoint family.
#[derive(Clone)]
pub struct Limiters {
    login: Limit,
    authorize: Limit,
    token: Limit,
    introspection: Limit,
    userinfo: Limit,
    admin: Limit,
    /// What a family that is off is given to keep the middleware's type (never run).
    off: Config,
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
            off: permissive(ClientKey {
                trusted: trusted.clone(),
                header,
                shape: Shape::Page,
            })?,
        })
    }

    /// Login form submissions.
    pub fn login(&self) -> LimitMiddleware {
        self.middleware(&self.login)
    }

    /// Authorization requests.
    pub fn authorize(&self) -> LimitMiddleware {
        self.middleware(&self.authorize)
    }

    /// Token requests.
    pub fn token(&self) -> LimitMiddleware {
        self.middleware(&self.token)
    }

    /// Introspection and revocation requests.
    pub fn introspection(&self) -> LimitMiddleware {
        self.middleware(&self.introspection)
    }

    /// UserInfo requests.
    pub fn userinfo(&self) -> LimitMiddleware {
        self.middleware(&self.userinfo)
    }

    /// Form submissions to the admin UI, the account page and the setup page.
    pub fn admin(&self) -> LimitMiddleware {
        self.middleware(&self.admin)
    }

    fn middleware(&self, limit: &Limit) -> LimitMiddleware {
        match limit {
            Some(config) => Condition::new(true, Governor::new(config)),
            // `Condition` with `false` passes requests straight on.
            None => Condition::new(false, Governor::new(&self.off)),
        }
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
        .filter_map(|limit| limit.as_ref())
        .map(|config| {
            let limiter = config.limiter();
            limiter.retain_recent();
            limiter.shrink_to_fit();
            limiter.len()
        })
        .sum()
    }
}

/// The placeholder configuration of a family that is off.
fn permissive(key: ClientKey) -> Result<Config, BudgetError> {
    let mut builder = GovernorConfigBuilder::default().key_extractor(key);
    builder.permissive(true);
    builder.finish().ok_or(BudgetError(0, Duration::ZERO))
}

/// A budget actix-governor refused (a zero period or burst, which no count allows).
#[derive(Debug, thiserror::Error)]
#[error("rate limit of {0} per {1:?} cannot be configured")]
pub struct BudgetError(u32, Duration);

/// `count` requests per `window`, with a burst of `count`; 0: no limit (`None`).
fn budget(count: u32, window: Duration, key: ClientKey) -> Result<Limit, BudgetError> {
    if count == 0 {
        return Ok(None);
    }
    let mut builder = GovernorConfigBuilder::default().key_extractor(key);
    builder.period(window / count).burst_size(count);
    builder.finish().map(Some).ok_or(BudgetError(count, window))
}
