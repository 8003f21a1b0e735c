//! `template.yaml`, the one definition of the deployed resources, read for local use: the
//! local stack (`make run`) builds its tables, bucket, functions, routes and triggers from
//! it, and the tests create their DynamoDB Local tables from it, so neither can drift from
//! what `sam deploy` creates.

pub mod provision;
pub mod template;

pub use provision::{create_bucket, create_event_bus, create_queue, create_rule, create_table};
pub use template::{
    Bucket, EventRule, Queue, SqsTrigger, StackContext, Table, Template, TemplateError, load,
    parse_rate, render_yaml,
};
