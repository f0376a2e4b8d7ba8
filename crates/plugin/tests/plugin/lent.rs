//! `Plugin::authorize_with`: the caller lends its request for the call. A 0.2.0 guest
//! reads only what it asks for; the facts come back with the answer, whatever it is.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use causeway_plugin::{
    AuthorizerFacts, AuthorizerKind, AuthorizerRequest, FactPairs, FactText, InstancePolicy,
    PluginErrorKind,
};

use crate::support::{self, ctx};

/// A request that writes down every question it is asked.
struct Watched {
    request: AuthorizerRequest,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Watched {
    fn new(request: AuthorizerRequest) -> (Self, Arc<Mutex<Vec<String>>>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let watched = Watched {
            request,
            asked: asked.clone(),
        };
        (watched, asked)
    }

    fn note(&self, question: String) {
        self.asked.lock().expect("lock").push(question);
    }
}

impl AuthorizerFacts for Watched {
    fn kind(&self) -> AuthorizerKind {
        self.request.kind()
    }

    fn identity_source(&self) -> &[String] {
        self.note("identity".to_owned());
        self.request.identity_source()
    }

    fn text(&self, field: FactText) -> Cow<'_, str> {
        self.note(format!("{field:?}"));
        self.request.text(field)
    }

    fn find(&self, pairs: FactPairs, name: &str) -> Option<Cow<'_, str>> {
        self.note(format!("{pairs:?} {name}"));
        self.request.find(pairs, name)
    }

    fn for_each(&self, pairs: FactPairs, f: &mut dyn FnMut(&str, &str)) {
        self.note(format!("all {pairs:?}"));
        self.request.for_each(pairs, f);
    }
}

fn asked(log: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().expect("lock"))
}

#[tokio::test]
async fn a_guest_reads_only_what_it_asks_for_and_the_facts_come_back() {
    let plugin = support::counter("lent", InstancePolicy::Fresh);
    let (facts, log) = Watched::new(support::token_request("Bearer abc"));
    let (back, answer) = plugin.authorize_with(facts).await;
    let back = back.expect("the facts come back");
    assert_eq!(back.request.path, "/lists/weekly", "the same request");
    assert_eq!(ctx(&answer.expect("allow"), "count"), Some("1"));
    // The host names the request in the guest's log lines; the guest asked for one header.
    assert_eq!(asked(&log), ["RequestId", "Headers x-trap"]);

    // A trapping call hands them back too.
    let trapping = support::with_header(support::token_request("Bearer abc"), "x-trap", "1");
    let (facts, log) = Watched::new(trapping);
    let (back, answer) = plugin.authorize_with(facts).await;
    assert!(back.is_some(), "facts lost after a trap");
    assert_eq!(answer.expect_err("trap").kind, PluginErrorKind::Trap);
    assert_eq!(asked(&log), ["RequestId", "Headers x-trap"]);
}

#[tokio::test]
async fn a_record_guest_is_handed_everything() {
    // 0.1.0's export takes the whole record, built from the facts.
    let plugin = support::load(
        "echo-v0-1",
        env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER_V0_1"),
        causeway_plugin::World::Authorizer,
        causeway_plugin::PluginOptions::new(causeway_plugin::World::Authorizer),
    );
    let mut request = support::token_request("Bearer abc");
    request.stage_variables = vec![("env".to_owned(), "prod".to_owned())];
    let (facts, log) = Watched::new(request);
    let (back, answer) = plugin.authorize_with(facts).await;
    assert!(back.is_some());
    let d = answer.expect("allow");
    assert_eq!(ctx(&d, "stage-variables"), Some("env=prod"), "{d:?}");
    let log = asked(&log);
    for all in [
        "all Headers",
        "all Query",
        "all PathParameters",
        "all StageVariables",
    ] {
        assert!(log.iter().any(|q| q == all), "{all} not asked: {log:?}");
    }
}

#[tokio::test]
async fn a_plugin_of_another_world_hands_the_facts_back_unread() {
    let plugin = support::load(
        "mapper",
        env!("CAUSEWAY_FIXTURE_QUERY_TO_JSON_MAPPER"),
        causeway_plugin::World::Mapper,
        causeway_plugin::PluginOptions::new(causeway_plugin::World::Mapper),
    );
    let (facts, log) = Watched::new(support::token_request("Bearer abc"));
    let (back, answer) = plugin.authorize_with(facts).await;
    assert!(back.is_some());
    assert_eq!(
        answer.expect_err("wrong world").kind,
        PluginErrorKind::Config
    );
    assert!(asked(&log).is_empty());
}
