//! Rules checked whole: every bad field named, and the settings' policy.

use super::*;

fn spec(toml_text: &str) -> RuleSpec {
    toml::from_str(toml_text).unwrap()
}

fn fields(toml_text: &str) -> Vec<String> {
    Rule::compile(spec(toml_text))
        .map(|_| Vec::new())
        .unwrap_or_else(|e| e.into_iter().map(|e| e.field).collect())
}

#[test]
fn a_rule_compiles_its_selector_and_policy() {
    let rule = Rule::compile(spec(
        r#"
        name = "edge-loss"
        select = { check = "ping-*", target = "10.0.*", plugin = "ping" }
        condition = { kind = "threshold", metric = "loss", op = ">", value = 0.05 }
        k_of_m = [3, 5]
        for = "2m"
        success_threshold = 2
        "#,
    ))
    .unwrap();
    assert_eq!(
        (rule.policy.k, rule.policy.m, rule.policy.success_threshold),
        (3, 5, 2)
    );
    assert_eq!(rule.policy.hold, chrono::Duration::minutes(2));
    assert!(rule.selects("ping-core", "10.0.0.1", "ping"));
    assert!(!rule.selects("dns-core", "10.0.0.1", "ping"));
    assert!(!rule.selects("ping-core", "192.0.2.1", "ping"));
    assert!(!rule.selects("ping-core", "10.0.0.1", "fping"));
    let n = Rule::compile(spec(
        "name = \"n\"\ncondition = { kind = \"status\" }\nfailure_threshold = 4",
    ))
    .unwrap();
    assert_eq!((n.policy.k, n.policy.m), (4, 4));
    assert!(n.selects("anything", "anywhere", "any"));
    assert!(!n.by_placement());
    let placed = Rule::compile(spec(
        "name = \"p\"\nselect = { groups = [\"core\", \"edge\"], labels = { site = \"par\" } }\ncondition = { kind = \"status\" }",
    ))
    .unwrap();
    let site = |s: &str| BTreeMap::from([("site".to_owned(), s.to_owned())]);
    assert!(placed.by_placement());
    assert!(placed.places(&["edge".into()], &site("par")));
    assert!(!placed.places(&["edge".into()], &site("ams")));
    assert!(!placed.places(&["lab".into()], &site("par")));
    assert!(!placed.places(&[], &BTreeMap::new()));
    assert!(!placed.has_parents());
    let child = Rule::compile(spec(
        "name = \"c\"\ncondition = { kind = \"status\" }\ndepends_on = [\"gw-*\", \"uplink\"]",
    ))
    .unwrap();
    assert!(child.has_parents());
    assert!(child.is_parent("gw-paris") && child.is_parent("uplink"));
    assert!(!child.is_parent("web"));
}

#[test]
fn an_agent_offline_rule_refuses_what_shapes_results() {
    let offline = "name = \"r\"\ncondition = { kind = \"agent_offline\" }\n";
    assert!(fields(&format!("{offline}select = {{ groups = [\"core\"] }}")).is_empty());
    assert_eq!(
        fields(&format!(
            "{offline}select = {{ check = \"ping\" }}\nfor = \"1m\"\nmin_agents = 2\ndepends_on = [\"gw\"]"
        )),
        ["select.check", "for", "min_agents", "depends_on"]
    );
    let rule = Rule::compile(spec(offline)).unwrap();
    assert!(!rule.selects("ping", "10.0.0.1", "ping"));
}

#[test]
fn a_bad_parent_is_named_by_its_place() {
    let status = "name = \"r\"\ncondition = { kind = \"status\" }\n";
    assert_eq!(
        fields(&format!("{status}depends_on = [\"gw\", \"gw-[\", \"\"]")),
        ["depends_on[1]", "depends_on[2]"]
    );
    let many: Vec<String> = (0..17).map(|i| format!("\"p{i}\"")).collect();
    assert_eq!(
        fields(&format!("{status}depends_on = [{}]", many.join(", "))),
        ["depends_on"]
    );
}

#[test]
fn every_bad_field_is_named() {
    let got = fields(
        r#"
        name = "bad name!"
        select = { check = "ping-[", groups = ["no spaces"] }
        condition = { kind = "threshold", metric = "Bad-Metric", op = ">", value = 1, aggregate = "p95" }
        failure_threshold = 3
        k_of_m = [3, 5]
        keep_firing_for = "8d"
        min_agents = 0
        "#,
    );
    assert_eq!(
        got,
        [
            "name",
            "select.check",
            "select.groups[0]",
            "condition.metric",
            "condition.window",
            "k_of_m",
            "keep_firing_for",
            "min_agents"
        ]
    );
}

#[test]
fn conflicting_or_out_of_range_settings_are_named() {
    let status = "name = \"r\"\ncondition = { kind = \"status\" }\n";
    assert_eq!(fields(&format!("{status}k_of_m = [4, 3]")), ["k_of_m"]);
    assert_eq!(
        fields(&format!("{status}repeat_interval = \"30s\"")),
        ["repeat_interval"]
    );
    assert!(fields(&format!("{status}repeat_interval = \"4h\"")).is_empty());
    assert_eq!(
        fields(&format!("{status}failure_threshold = 0")),
        ["failure_threshold"]
    );
    assert_eq!(
        fields(&format!("{status}success_threshold = 0")),
        ["success_threshold"]
    );
    assert_eq!(
        fields(
            "name = \"r\"\ncondition = { kind = \"threshold\", metric = \"rtt\", op = \">\", value = 1, window = \"1m\" }"
        ),
        ["condition.window"]
    );
    assert_eq!(
        fields("name = \"r\"\ncondition = { kind = \"no_data\", intervals = 0 }"),
        ["condition.intervals"]
    );
    assert_eq!(
        fields("name = \"r\"\ncondition = { kind = \"cert_expiry\", days = 0 }"),
        ["condition.days"]
    );
    assert!(fields(&format!("{status}min_agents = \"50%\"")).is_empty());
}
