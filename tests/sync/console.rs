//! The registry console's security rules, on both stores, over real HTTP
//! on loopback against the real router (in this process, so the test owns
//! the clock): every route needs a session, every POST a CSRF token from
//! the same origin, every role only what the role table allows; sessions
//! end when signed out, idle or old; failed sign-ins are throttled; and a
//! refused request changes nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use ehcard_server::api::{AppState, router};
use ehcard_server::console::{Action, IDLE_SECONDS, SESSION_SECONDS, all_routes, allowed, auth};
use ehcard_server::staff::{Role, Staff, hash_password};
use ehcard_server::store::{self, DynStore};

use crate::both;
use crate::support::Backend;

const T0: i64 = 1_800_000_000;

/// The real router on `backend`, its clock in the test's hands.
struct Console {
    base: String,
    clock: Arc<AtomicI64>,
    store: DynStore,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    location: String,
    cookies: Vec<String>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// The value a `Set-Cookie` gives `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find_map(|c| c.split(';').next()?.trim().strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

/// A signed-in browser: its session cookie and the page's CSRF token.
#[derive(Clone)]
struct Browser {
    cookie: String,
    csrf: String,
}

impl Console {
    fn start(backend: &Backend, secure_cookies: bool) -> Console {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let url = backend.url();
        let c = clock.clone();
        let (addr, store): (SocketAddr, DynStore) = rt.block_on(async move {
            let store = store::open(&url).await.unwrap();
            store.migrate().await.unwrap();
            for (name, role) in [("asha", Role::Admin), ("ravi", Role::Reviewer), ("vera", Role::Viewer)] {
                store
                    .add_staff(Staff {
                        name: name.into(),
                        role,
                        password_hash: hash_password(&format!("{name} password 1234")).unwrap(),
                        created_at: T0,
                        disabled_at: None,
                    })
                    .await
                    .unwrap();
            }
            let mut state = AppState::new(store.clone());
            state.clock = Arc::new(move || c.load(Ordering::SeqCst));
            state.secure_cookies = secure_cookies;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, app).await });
            (addr, store)
        });
        let cfg = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build();
        Console { base: format!("http://{addr}"), clock, store, rt, agent: ureq::Agent::new_with_config(cfg) }
    }

    fn advance(&self, seconds: i64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], form: Option<&[(&str, &str)]>) -> Answer {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => {
                let mut r = self.agent.get(&url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.call()
            }
            "POST" => {
                let mut r = self.agent.post(&url);
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                r.send_form(form.unwrap_or(&[]).iter().copied())
            }
            other => panic!("cannot send {other}"),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let all = |name: &str| headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        Answer {
            status: resp.status().as_u16(),
            location: all("location").pop().unwrap_or_default(),
            cookies: all("set-cookie"),
            body: resp.body_mut().read_to_string().unwrap_or_default(),
            headers,
        }
    }

    fn get(&self, path: &str, who: Option<&Browser>) -> Answer {
        let cookie = who.map(|b| b.cookie.clone()).unwrap_or_default();
        self.send("GET", path, &[("cookie", &cookie)], None)
    }

    /// Sign in through the form, as a browser does; the answer to the POST.
    fn sign_in_answer(&self, name: &str, password: &str) -> Answer {
        let page = self.send("GET", "/console/login", &[], None);
        assert_eq!(page.status, 200);
        let token = page.cookie(auth::LOGIN_COOKIE).expect("the sign-in page sets its CSRF cookie");
        assert!(page.body.contains(&format!("value=\"{token}\"")), "the form carries the same token");
        let cookie = format!("{}={token}", auth::LOGIN_COOKIE);
        self.send(
            "POST",
            "/console/login",
            &[("cookie", &cookie)],
            Some(&[("csrf", &token), ("name", name), ("password", password), ("next", "/console")]),
        )
    }

    fn sign_in(&self, name: &str) -> Browser {
        let answer = self.sign_in_answer(name, &format!("{name} password 1234"));
        assert_eq!(answer.status, 303, "{name} signs in: {}", answer.body);
        let token = answer.cookie(auth::SESSION_COOKIE).expect("a session cookie");
        let cookie = format!("{}={token}", auth::SESSION_COOKIE);
        let home = self.get("/console", Some(&Browser { cookie: cookie.clone(), csrf: String::new() }));
        assert_eq!(home.status, 200, "{}", home.body);
        let csrf = home.body.split("data-csrf=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
        Browser { cookie, csrf }
    }

    fn post(&self, path: &str, who: Option<&Browser>, csrf: Option<&str>, origin: Option<&str>) -> Answer {
        let cookie = who.map(|b| b.cookie.clone()).unwrap_or_default();
        let mut headers = vec![("cookie", cookie.as_str())];
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        let form: Vec<(&str, &str)> = csrf.map(|c| vec![("csrf", c)]).unwrap_or_default();
        self.send("POST", path, &headers, Some(&form))
    }

    /// What a refused request must leave alone: everything but the audit
    /// log's sign-in lines.
    fn snapshot(&self) -> String {
        let s = self.store.clone();
        self.rt.block_on(async move {
            let stats = s.stats().await.unwrap();
            let pairs = s.pairs(None, 1000).await.unwrap();
            let staff = s.staff_list().await.unwrap();
            let devices = s.devices().await.unwrap();
            let audit: Vec<_> = s
                .audit_log(None, 10_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| !e.action.starts_with("console.sign_in"))
                .map(|e| (e.action, e.subject))
                .collect();
            format!("{stats:?}\n{pairs:?}\n{staff:?}\n{devices:?}\n{audit:?}")
        })
    }
}

/// A route's path with its placeholders filled (the guard refuses before
/// the handler reads them).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "01a0c450-6c00-7699-b7ca-ad8d6837074f" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

both!(every_console_route_needs_a_session_a_role_and_a_csrf_token);
fn every_console_route_needs_a_session_a_role_and_a_csrf_token(backend: Arc<Backend>) {
    let c = Console::start(&backend, false);
    let routes = all_routes();
    assert!(routes.iter().filter(|r| r.action.is_some()).count() >= 20, "the route table lists every page");
    let admin = c.sign_in("asha");
    let viewer = c.sign_in("vera");
    let reviewer = c.sign_in("ravi");
    let before = c.snapshot();
    // Signing out is checked below (it would end the sessions in use here).
    for r in routes.iter().filter(|r| r.action.is_some() && r.path != "/console/logout") {
        let path = concrete(r.path);
        // No session: pages send you to sign in, actions are refused.
        if r.method == "GET" {
            let a = c.get(&path, None);
            assert_eq!(a.status, 303, "GET {path} without a session");
            assert!(a.location.starts_with("/console/login?next="), "GET {path} → {}", a.location);
        } else {
            let a = c.post(&path, None, Some("forged"), None);
            assert_eq!(a.status, 401, "POST {path} without a session");
            // A session but no token, a wrong token, another origin.
            for (csrf, origin) in
                [(None, None), (Some("0".repeat(43)), None), (Some(admin.csrf.clone()), Some("http://evil.example"))]
            {
                let a = c.post(&path, Some(&admin), csrf.as_deref(), origin);
                assert_eq!(a.status, 403, "POST {path} with csrf {csrf:?} origin {origin:?}");
                assert!(a.body.contains("Form expired"), "POST {path}: {}", a.body);
            }
        }
        // Roles: what the table refuses is refused, with a valid token.
        for (who, role) in [(&viewer, Role::Viewer), (&reviewer, Role::Reviewer)] {
            let action: Action = r.action.unwrap();
            let a = if r.method == "GET" {
                c.get(&path, Some(who))
            } else {
                c.post(&path, Some(who), Some(&who.csrf), None)
            };
            if !allowed(role, action) {
                assert_eq!(a.status, 403, "{} {path} as {role:?}", r.method);
                assert!(a.body.contains("Your role cannot do this"), "{}", a.body);
            } else {
                assert_ne!(a.status, 403, "{} {path} as {role:?} is allowed: {}", r.method, a.body);
            }
        }
    }
    assert_eq!(c.snapshot(), before, "refused requests changed nothing");
    // Pages name the page's token; headers forbid framing and inline script.
    let page = c.get("/console", Some(&admin));
    assert!(page.header("content-security-policy").contains("script-src 'self'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("cache-control"), "no-store");
    // Unknown addresses reveal nothing before sign-in.
    let a = c.get("/console/no-such-page", None);
    assert_eq!(a.status, 303);
    assert_eq!(c.get("/console/no-such-page", Some(&admin)).status, 404);
    // Sign-in only follows console addresses.
    let page = c.send("GET", "/console/login?next=https://evil.example/", &[], None);
    assert!(!page.body.contains("evil.example"), "an outside next is dropped");
}

both!(sessions_end_when_signed_out_idle_or_old);
fn sessions_end_when_signed_out_idle_or_old(backend: Arc<Backend>) {
    let c = Console::start(&backend, true);
    // Cookies: HttpOnly, SameSite=Strict, and Secure when serving HTTPS.
    let answer = c.sign_in_answer("asha", "asha password 1234");
    let set = answer.cookies.iter().find(|s| s.starts_with(auth::SESSION_COOKIE)).unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] {
        assert!(set.contains(attr), "{set} has {attr}");
    }

    // Idle: a request now and then keeps it; a long pause ends it.
    let b = c.sign_in("asha");
    for _ in 0..4 {
        c.advance(IDLE_SECONDS - 60);
        assert_eq!(c.get("/console", Some(&b)).status, 200, "used within the idle limit");
    }
    c.advance(IDLE_SECONDS + 1);
    let a = c.get("/console", Some(&b));
    assert_eq!(a.status, 303, "idle too long");

    // Old: even in constant use, it ends SESSION_SECONDS after sign-in.
    let b = c.sign_in("asha");
    let mut elapsed = 0;
    while elapsed + IDLE_SECONDS / 2 < SESSION_SECONDS {
        c.advance(IDLE_SECONDS / 2);
        elapsed += IDLE_SECONDS / 2;
        assert_eq!(c.get("/console", Some(&b)).status, 200, "at {elapsed} s");
    }
    c.advance(SESSION_SECONDS - elapsed);
    assert_eq!(c.get("/console", Some(&b)).status, 303, "past the session's end");

    // Signed out: the cookie opens nothing, even replayed.
    let b = c.sign_in("ravi");
    let out = c.post("/console/logout", Some(&b), Some(&b.csrf), None);
    assert_eq!(out.status, 303);
    assert_eq!(c.get("/console", Some(&b)).status, 303);
    assert_eq!(c.post("/console/logout", Some(&b), Some(&b.csrf), None).status, 401);

    // A disabled account's open session ends with it.
    let b = c.sign_in("vera");
    let s = c.store.clone();
    c.rt.block_on(async move { s.disable_staff("vera", T0).await.unwrap() });
    assert_eq!(c.get("/console", Some(&b)).status, 303);
    assert_eq!(c.sign_in_answer("vera", "vera password 1234").status, 401);
}

both!(failed_sign_ins_are_throttled_by_account_and_by_address);
fn failed_sign_ins_are_throttled_by_account_and_by_address(backend: Arc<Backend>) {
    let c = Console::start(&backend, false);
    // A wrong password, an unknown name, a forged form: refused alike.
    assert_eq!(c.sign_in_answer("asha", "not her password").status, 401);
    assert_eq!(c.sign_in_answer("nobody", "whatever password").status, 401);
    let forged = c.send(
        "POST",
        "/console/login",
        &[],
        Some(&[("csrf", "x"), ("name", "asha"), ("password", "asha password 1234")]),
    );
    assert_eq!(forged.status, 403);
    assert!(forged.cookie(auth::SESSION_COOKIE).is_none());

    for _ in 1..auth::MAX_FAILURES_PER_NAME {
        assert_eq!(c.sign_in_answer("asha", "still wrong").status, 401);
    }
    // Locked: even the right password is refused, and says until when.
    let locked = c.sign_in_answer("asha", "asha password 1234");
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("Try again after"), "{}", locked.body);
    assert!(locked.cookie(auth::SESSION_COOKIE).is_none());
    // Others can still sign in from elsewhere… (same address here, under its limit)
    c.sign_in("ravi");
    // …and after the window, so can she.
    c.advance(auth::FAILURE_WINDOW + 1);
    c.sign_in("asha");

    // One address trying many names is stopped too.
    for i in 0..auth::MAX_FAILURES_PER_CLIENT {
        assert_eq!(c.sign_in_answer(&format!("guess{i}"), "password guess").status, 401);
    }
    assert_eq!(c.sign_in_answer("ravi", "ravi password 1234").status, 429);
    // Every failure is in the audit log.
    let s = c.store.clone();
    let failed = c.rt.block_on(async move {
        s.audit_log(None, 10_000).await.unwrap().into_iter().filter(|e| e.action == "console.sign_in_failed").count()
    });
    assert_eq!(failed as i64, 1 + 1 + (auth::MAX_FAILURES_PER_NAME - 1) + auth::MAX_FAILURES_PER_CLIENT);
}

both!(tablet_actions_are_in_the_audit_log);
fn tablet_actions_are_in_the_audit_log(backend: Arc<Backend>) {
    use crate::support::{Server, Tablet, resident};
    let server = Server::start(backend);
    let t = Tablet::provision(&server, "12", "audited tablet");
    t.ok(&["enroll", &resident(1, 12).to_string()]);
    t.ok(&["enroll", &resident(2, 12).to_string()]);
    t.sync();
    t.sync(); // nothing new: not an action
    let log = server.admin_json(&["audit", "--json"]);
    let by_tablet: Vec<&serde_json::Value> =
        log.as_array().unwrap().iter().filter(|e| e["actor"] == t.device_id.as_str()).collect();
    let actions: Vec<&str> = by_tablet.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["sync_push", "device_provisioned"], "{log:#}");
    let push = &by_tablet[0]["detail"];
    // Two residents and their two households, all new.
    assert_eq!(push["merged"], 4, "{push}");
    assert_eq!(push["created"], 4, "{push}");
    assert_eq!(push["label"], "audited tablet");
}
