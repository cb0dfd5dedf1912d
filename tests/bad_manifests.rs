//! Every manifest under `tests/manifests/bad` is refused with exit code 1 and
//! a diagnostic that names the file, line and column and labels the place.

use crate::support::Replicate;

#[test]
fn bad_manifests_are_refused_with_a_located_diagnostic() {
    let mut seen = 0;
    insta::glob!("manifests/bad/*.toml", |path| {
        seen += 1;
        let relative = path
            .strip_prefix(crate::support::root())
            .expect("fixture inside the repository");
        let run = Replicate::new()
            .args(["validate", "-m"])
            .args([relative])
            .run()
            .code(1);
        let stderr = run.stderr();
        let name = relative.display().to_string();
        assert!(
            !stderr.contains("panicked"),
            "{name}: replicate panicked:\n{stderr}"
        );
        let located = format!("[{name}:");
        assert!(
            stderr.contains(&located),
            "{name}: no file:line:col in the diagnostic:\n{stderr}"
        );
        assert!(
            stderr.contains('╰') && stderr.contains('·'),
            "{name}: no label under the offending text:\n{stderr}"
        );
        assert!(run.stdout().is_empty(), "{name}: printed on stdout");
        insta::assert_snapshot!(stderr);
    });
    assert!(seen >= 25, "only {seen} bad manifests");
}
