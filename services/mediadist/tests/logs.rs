//! Personal data never reaches the logs: a whole lifecycle, including a
//! refused wrong-person handover, logged at debug level, and the captured
//! text searched for the patient's name and every IC number involved.

mod common;

use common::TestEnv;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Outcome;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_ic_number_or_patient_name_in_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,lapin=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let env = TestEnv::start().await;
    env.add_staff("clerk1", "CLERK").await;
    env.add_staff("rad1", "RADIOGRAPHER").await;
    env.add_staff("desk1", "RECEPTION").await;
    let wait = Duration::from_secs(15);
    let send = |c, d| env.client.send(c, d, wait);
    let register = json!({
        "patient": { "mrn": "SYN00042", "name": "Zulkifli^Rahman", "ic": "850612-14-5523" },
        "study": { "uid": "1.2.826.0.1.3680043.10.42", "modalities": ["MR"] },
        "examinations": []
    });
    assert_eq!(
        send(CommandType::RegisterStudy, register)
            .await
            .unwrap()
            .outcome,
        Outcome::Accepted
    );
    let request = json!({
        "study_uids": ["1.2.826.0.1.3680043.10.42"], "media_type": "CD", "quantity": 1,
        "requester": { "type": "RELATIVE", "name": "Nurul Zulkifli" }, "actor": "clerk1"
    });
    let id = send(CommandType::RequestMedia, request)
        .await
        .unwrap()
        .distribution_id
        .unwrap();
    let token = env.config.slip_key.sign(id, 1).to_string();
    let target = json!({ "token": token });
    send(
        CommandType::StartPreparing,
        json!({"target": target, "actor": "rad1"}),
    )
    .await
    .unwrap();
    send(
        CommandType::MarkReady,
        json!({"target": target, "storage_location": "B1", "actor": "rad1"}),
    )
    .await
    .unwrap();
    let collector = |ic: &str, rel: &str| {
        json!({"target": target, "collector": {"name": "Nurul Zulkifli", "document": {"type": "MYKAD", "number": ic},
               "relationship": rel}, "document_seen": true, "actor": "desk1"})
    };
    let refused = send(CommandType::Handover, collector("900101-14-1235", "SELF"))
        .await
        .unwrap();
    assert_eq!(refused.outcome, Outcome::Rejected);
    let done = send(CommandType::Handover, collector("850612-14-5523", "SELF"))
        .await
        .unwrap();
    assert_eq!(done.outcome, Outcome::Accepted);
    // A malformed handover whose body carries an IC number: dead-lettered, and still not logged.
    let conn = mediadist_platform::amqp::connect(&env.config.amqp_url, "test-logs")
        .await
        .unwrap();
    let ch = mediadist_platform::amqp::confirm_channel(&conn)
        .await
        .unwrap();
    let poison = json!({"specversion": "1.0", "id": "p1", "source": "t", "type": "org.mediadist.command.handover.v1",
                        "data": {"collector": {"document": {"number": 850612145523u64}}}});
    mediadist_platform::amqp::publish_confirmed(
        &ch,
        &env.config.commands_exchange(),
        "collection.handover",
        poison.to_string().as_bytes(),
        mediadist_platform::amqp::json_properties("p1"),
    )
    .await
    .unwrap();
    // Wait until it was dead-lettered (it is logged when it is).
    let deadline = tokio::time::Instant::now() + wait;
    let logged =
        |needle: &str| String::from_utf8_lossy(&captured.0.lock().unwrap()).contains(needle);
    while !logged("dead-lettering message") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison was not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = conn.close(200, "bye").await;
    env.stop().await;

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(
        text.contains("command applied"),
        "the capture works: {} bytes",
        text.len()
    );
    for secret in [
        "850612145523",
        "850612-14-5523",
        "900101141235",
        "900101-14-1235",
        "Zulkifli",
        "Rahman",
        "Nurul",
    ] {
        let line = text.lines().find(|l| l.contains(secret)).unwrap_or("");
        assert!(line.is_empty(), "'{secret}' appeared in the logs: {line}");
    }
}
