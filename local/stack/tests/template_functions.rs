//! Every function `template.yaml` declares is built by a crate of this workspace, and is
//! reachable by some trigger.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use local_stack::template::{StackContext, Template};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Template {
    let doc = sam_template::load(&repo_root())
        .expect("template.yaml renders (the venv comes from `make install`)");
    Template::new(
        doc,
        StackContext {
            stack_name: "t".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            parameters: HashMap::new(),
        },
    )
}

#[test]
fn every_function_binary_is_a_workspace_binary() {
    let root = repo_root();
    let functions = template().functions().unwrap();
    assert_eq!(functions.len(), 6);
    for function in functions {
        let crate_dir = root.join("functions").join(&function.binary);
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_else(|_| {
            panic!(
                "{}: no crate at {}",
                function.logical_id,
                crate_dir.display()
            )
        });
        assert!(
            manifest.contains(&format!("name = \"{}\"", function.binary)),
            "{} names binary {} which {} does not build",
            function.logical_id,
            function.binary,
            Path::new("functions").join(&function.binary).display()
        );
        assert!(
            !function.routes.is_empty()
                || !function.s3_triggers.is_empty()
                || !function.schedules.is_empty()
        );
    }
}
