//! Explain one pair given as two JSON persons on the command line.
#![allow(clippy::unwrap_used)]
fn main() {
    let a: ehcard_match::Person = serde_json::from_str(&std::env::args().nth(1).unwrap()).unwrap();
    let b: ehcard_match::Person = serde_json::from_str(&std::env::args().nth(2).unwrap()).unwrap();
    println!("{:#?}", ehcard_match::explain(&a, &b));
    println!("{:?}\n{:?}", ehcard_match::blocking_keys(&a), ehcard_match::blocking_keys(&b));
}
