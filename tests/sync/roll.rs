//! The electoral-roll import (`ehcard-server import-roll`) on both stores:
//! rows reach the ward's tablets as unverified residents in households; a
//! re-import changes nothing; a bad file changes nothing and names every
//! bad row; a newer extract updates unverified rows and leaves confirmed
//! ones alone.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde_json::Value;

use crate::both;
use crate::support::{Backend, Server, Tablet, count};

const AS_OF: &str = "2026-01-01";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/samples/roll.csv")
}

fn import(server: &Server, file: &Path) -> Output {
    server.admin(&["import-roll", file.to_str().unwrap(), "--as-of", AS_OF, "--json"])
}

fn import_ok(server: &Server, file: &Path) -> Value {
    let out = import(server, file);
    assert!(out.status.success(), "import-roll failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The tablet's resident with this EPIC number, as `ehcard show --json`.
fn by_epic(tablet: &Tablet, epic: &str) -> Option<Value> {
    let hits = tablet.json(&["search", epic, "--json"]);
    let id = hits.as_array().unwrap().iter().find(|h| h["voter_id"] == epic)?["id"].as_str()?.to_string();
    Some(tablet.json(&["show", &id, "--json"]))
}

fn import_reaches_the_wards_tablets(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let s = import_ok(&server, &sample());
    assert_eq!(
        (s["rows"].as_i64(), s["added"].as_i64(), s["households_added"].as_i64()),
        (Some(40), Some(40), Some(16))
    );
    assert_eq!(s["feed_entries"], 56, "{s}");
    let stats = server.stats();
    assert_eq!((count(&stats, "residents"), count(&stats, "households")), (40, 16));
    assert_eq!(stats["residents_by_ward"]["12"], 21);
    assert_eq!(stats["residents_by_ward"]["131"], 19);

    let tablet = Tablet::provision(&server, "12", "ward 12 tablet");
    let sync = tablet.sync();
    assert_eq!(sync["complete"], true, "{sync}");
    assert_eq!(sync["created"], 21 + 8, "{sync}");
    let households = tablet.json(&["households", "--json"]);
    let households = households.as_array().unwrap();
    assert_eq!(households.len(), 8);
    assert!(households.iter().all(|h| h["ward"] == 12), "{households:?}");
    let sharma = households.iter().find(|h| h["house"] == "12/1").unwrap();
    assert_eq!(sharma["members"], 4);
    assert_eq!(sharma["street"], "Gali No 4 Seelampur");

    let ram = by_epic(&tablet, "DLA1200001").expect("ward 12's roll resident");
    assert_eq!(ram["given_name"], "Ram Prasad");
    assert_eq!(ram["family_name"], "Sharma");
    assert_eq!(ram["name_hi"], "राम प्रसाद शर्मा");
    assert_eq!(ram["status"], "unverified");
    assert_eq!(ram["relation_type"], "father");
    assert_eq!(ram["relative_name"], "Shiv Prasad Sharma");
    assert_eq!(ram["birth_year"], 1964);
    assert_eq!(ram["enrolled_by"], "electoral-roll");
    assert_eq!(ram["address"]["house"], "12/1");
    assert_eq!(ram["address"]["ward"], 12);
    assert_eq!((ram["roll_part"].as_str(), ram["roll_serial"].as_str()), (Some("7"), Some("1")));
    assert_eq!(ram["household_id"], sharma["id"]);
    let health_id = ram["health_id"].as_str().expect("a roll resident has an eHealth ID");
    assert!(health_id.replace(' ', "").starts_with("9000"), "registry device numbers: {health_id}");
    let hindi_only = by_epic(&tablet, "DLA1200008").unwrap();
    assert_eq!(hindi_only["given_name"], "सुनीता");
    assert!(hindi_only.get("family_name").is_none_or(Value::is_null), "{hindi_only}");
    // Ward 131's rows are not this tablet's.
    assert!(by_epic(&tablet, "DLB1310001").is_none());
    assert_eq!(tablet.json(&["stats", "--json"])["residents"], 21);
}
both!(import_reaches_the_wards_tablets);

fn reimporting_the_same_file_changes_nothing(backend: Arc<Backend>) {
    let server = Server::start(backend);
    import_ok(&server, &sample());
    let before = server.stats();
    let s = import_ok(&server, &sample());
    assert_eq!((s["unchanged"].as_i64(), s["added"].as_i64(), s["updated"].as_i64()), (Some(40), Some(0), Some(0)));
    assert_eq!((s["feed_entries"].as_i64(), s["households_added"].as_i64()), (Some(0), Some(0)));
    assert_eq!(server.stats(), before);
    // In words, too.
    let out = server.admin(&["import-roll", sample().to_str().unwrap(), "--as-of", AS_OF]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 added") && text.contains("40 unchanged"), "{text}");
    assert_eq!(server.stats(), before);
}
both!(reimporting_the_same_file_changes_nothing);

/// Every index of the registry's tables and how it is defined.
fn indexes(backend: &Backend) -> Vec<(String, String)> {
    match backend {
        Backend::Sqlite(dir) => {
            let conn = rusqlite::Connection::open(dir.path().join("registry.db")).unwrap();
            let mut st = conn
                .prepare("SELECT name, coalesce(sql, '') FROM sqlite_schema WHERE type = 'index' ORDER BY name")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
        }
        // Indexes, and the constraints some of them are made for (a bulk
        // import drops primary keys too).
        Backend::Postgres(cluster) => pg_text_rows(
            cluster,
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'
             UNION ALL
             SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace
             ORDER BY 1",
        )
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect(),
    }
}

/// The rows of a query on a PostgreSQL registry whose columns are all text.
fn pg_text_rows(cluster: &crate::pg::PgCluster, sql: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let rows = client.query(sql, &[]).await.unwrap();
        rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()).collect()
    })
}

/// Every text column of the PostgreSQL registry compares as bytes
/// (`0006_bytewise_text.sql`): ids, keys and codes are compared without
/// the locale, as SQLite compares them, and a later migration that adds a
/// text column without `COLLATE "C"` is caught here.
#[test]
fn every_text_column_of_the_postgres_registry_compares_as_bytes() {
    let backend = Backend::postgres();
    let server = Server::start(backend.clone());
    let Backend::Postgres(cluster) = &*backend else { unreachable!() };
    let text = pg_text_rows(
        cluster,
        "SELECT c.table_name::text || '.' || c.column_name::text, coalesce(c.collation_name::text, 'default')
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'
         ORDER BY 1",
    );
    assert!(text.iter().any(|c| c[0] == "residents.id"), "{text:?}");
    let other: Vec<_> = text.iter().filter(|c| c[1] != "C").collect();
    assert!(other.is_empty(), "text columns that compare by locale: {other:?}");
    drop(server);
}

/// `--indexes rebuild` (what a large first extract does by itself): the
/// secondary indexes are dropped, the rows written, and every index built
/// again, exactly as the migrations define it, before the import commits.
fn a_bulk_import_builds_every_index_again(backend: Arc<Backend>) {
    let server = Server::start(backend.clone());
    let before = indexes(&backend);
    assert!(before.iter().any(|(n, _)| n == "records_given"), "{before:?}");
    let out =
        server.admin(&["import-roll", sample().to_str().unwrap(), "--as-of", AS_OF, "--json", "--indexes", "rebuild"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((s["added"].as_i64(), s["households_added"].as_i64()), (Some(40), Some(16)), "{s}");
    assert_eq!(indexes(&backend), before, "the same indexes, defined the same way");
    if let Backend::Postgres(cluster) = &*backend {
        // The planner's statistics were refreshed after the commit, before
        // the command returned.
        let analyzed = pg_text_rows(
            cluster,
            "SELECT relname::text FROM pg_stat_user_tables
             WHERE relname IN ('residents', 'households', 'feed') AND last_analyze IS NOT NULL ORDER BY 1",
        );
        assert_eq!(analyzed.concat(), ["feed", "households", "residents"]);
    }
    // The rows are there and read through the rebuilt indexes.
    let again =
        server.admin(&["import-roll", sample().to_str().unwrap(), "--as-of", AS_OF, "--json", "--indexes", "keep"]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["unchanged"], 40, "{again}");
    let tablet = Tablet::provision(&server, "12", "ward 12 tablet");
    assert_eq!(tablet.sync()["created"], 21 + 8);
    let ram = by_epic(&tablet, "DLA1200001").expect("ward 12's roll resident");
    assert_eq!(ram["given_name"], "Ram Prasad");

    // A newer extract rebuilt the same way edits records the registry has
    // (their keys stay while it writes over them) and adds one.
    let dir = tempfile::tempdir().unwrap();
    let newer = newer_extract(dir.path());
    let out =
        server.admin(&["import-roll", newer.to_str().unwrap(), "--as-of", AS_OF, "--json", "--indexes", "rebuild"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["added"].as_i64(), s["updated"].as_i64(), s["unchanged"].as_i64()),
        (Some(1), Some(2), Some(38)),
        "{s}"
    );
    // Vikram, still unverified here, moves to a house the roll did not have.
    assert_eq!((s["households_added"].as_i64(), s["households_updated"].as_i64()), (Some(1), Some(3)), "{s}");
    assert_eq!(indexes(&backend), before, "the same indexes, defined the same way");
    let s = tablet.sync();
    assert_eq!((s["complete"].as_bool(), s["created"].as_i64()), (Some(true), Some(2)), "{s}");
    assert_eq!(by_epic(&tablet, "DLA1200016").unwrap()["given_name"], "Arjun Kumar");
    assert_eq!(count(&server.stats(), "residents"), 41);
    // A mode that is not one is refused before anything is read.
    let bad = server.admin(&["import-roll", sample().to_str().unwrap(), "--indexes", "sometimes"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("possible values"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
both!(a_bulk_import_builds_every_index_again);

/// The rows of `table` an index's condition admits, counted.
fn rows_admitted(backend: &Backend, index: &str) -> i64 {
    match backend {
        Backend::Sqlite(dir) => {
            let conn = rusqlite::Connection::open(dir.path().join("registry.db")).unwrap();
            let (table, sql): (String, String) = conn
                .query_row("SELECT tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND name = ?1", [index], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            let condition = sql.split_once(" WHERE ").expect("a partial index").1;
            conn.query_row(&format!("SELECT count(*) FROM {table} WHERE {condition}"), [], |r| r.get(0)).unwrap()
        }
        Backend::Postgres(cluster) => {
            let found = pg_text_rows(
                cluster,
                &format!(
                    "SELECT indrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index
                     WHERE indexrelid = '{index}'::regclass"
                ),
            );
            let [table, condition] = &found[0][..] else { panic!("{found:?}") };
            pg_text_rows(cluster, &format!("SELECT count(*)::text FROM {table} WHERE {condition}"))[0][0]
                .parse()
                .unwrap()
        }
    }
}

/// A bulk import keeps the partial indexes no roll row enters (it does not
/// build them again): their conditions admit none of an import's rows, so
/// a later migration that changes one so that roll rows enter is caught
/// here (it would then have to be built again).
fn the_indexes_a_bulk_import_keeps_admit_no_roll_row(backend: Arc<Backend>) {
    let server = Server::start(backend.clone());
    let out =
        server.admin(&["import-roll", sample().to_str().unwrap(), "--as-of", AS_OF, "--json", "--indexes", "rebuild"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&server.stats(), "residents"), 40);
    for index in ehcard_server::roll::UNTOUCHED_INDEXES {
        assert_eq!(rows_admitted(&backend, index), 0, "{index} admits roll rows");
    }
    // The check can fail: an index that roll rows enter admits them.
    assert_eq!(rows_admitted(&backend, "residents_console"), 40);
}
both!(the_indexes_a_bulk_import_keeps_admit_no_roll_row);

/// The registry's database file(s), for a byte-for-byte comparison (SQLite).
fn sqlite_bytes(backend: &Backend) -> Option<Vec<u8>> {
    match backend {
        Backend::Sqlite(dir) => Some(std::fs::read(dir.path().join("registry.db")).unwrap()),
        Backend::Postgres(_) => None,
    }
}

fn a_file_with_bad_rows_changes_nothing(backend: Arc<Backend>) {
    let server = Server::start(backend.clone());
    import_ok(&server, &sample());
    let stats = server.stats();
    let bytes = sqlite_bytes(&backend);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    let header = "epic,name_en,name_hi,relation_type,relation_name_en,relation_name_hi,age,date_of_birth,sex,\
                  house_no,section,ward,part_no,serial_no";
    let rows = [
        "DLC1200001,Good Person,,F,Some One,,30,,M,5,Gali 1,12,9,1", // line 2: fine
        "DL12345,Bad Epic,,F,Some One,,30,,M,5,Gali 1,12,9,2",       // line 3
        "DLC1200003,,,F,Some One,,30,,M,5,Gali 1,12,9,3",            // line 4: no name
        "DLC1200004,Bad Sex,,F,Some One,,30,,X,5,Gali 1,12,9,4",     // line 5
        "DLC1200005,Bad Age,,F,Some One,,abc,,F,5,Gali 1,12,9,5",    // line 6
        "DLC1200006,Bad Ward,,F,Some One,,30,,F,5,Gali 1,999,9,6",   // line 7
        "DLC1200001,Twice Listed,,F,Some One,,30,,M,6,Gali 1,12,9,7", // line 8: EPIC of line 2
        "DLC1200008,Cut Short,,F",                                   // line 9: truncated
    ];
    std::fs::write(&bad, format!("{header}\n{}", rows.join("\n"))).unwrap();
    let out = import(&server, &bad);
    assert!(!out.status.success(), "a bad file must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (line, column, value) in [
        (3, "epic", "DL12345"),
        (4, "name_en", ""),
        (5, "sex", "X"),
        (6, "age", "abc"),
        (7, "ward", "999"),
        (8, "epic", "DLC1200001"),
    ] {
        let want = format!("line {line}, column {column}: \"{value}\"");
        assert!(stderr.contains(&want), "stderr lacks {want:?}:\n{stderr}");
    }
    assert!(stderr.contains("line 8, column epic") && stderr.contains("already on line 2"), "{stderr}");
    assert!(stderr.contains("line 9, column (row)") && stderr.contains("columns"), "{stderr}");
    assert!(!stderr.contains("line 2,"), "the good row is not an error:\n{stderr}");
    assert!(stderr.contains("7 of 8 rows") && stderr.contains("nothing was imported"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["bad_rows"], 7);
    assert_eq!(server.stats(), stats, "a refused file changed the registry");
    assert_eq!(sqlite_bytes(&backend), bytes, "a refused file changed the database file");
    // --check says the same and writes nothing either.
    let out = server.admin(&["import-roll", bad.to_str().unwrap(), "--check"]);
    assert!(!out.status.success());
    assert_eq!(server.stats(), stats);
}
both!(a_file_with_bad_rows_changes_nothing);

/// The sample's newer extract, written into `dir`: Arjun's name spelt out
/// and moved from house 30 to 31; Vikram's house changed; one new voter.
fn newer_extract(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sample()).unwrap();
    let text = text
        .replace("DLA1200016,Arjun Gupta,", "DLA1200016,Arjun Kumar Gupta,")
        .replace(",29,,M,30,Main Road Jafrabad,", ",29,,M,31,Main Road Jafrabad,")
        .replace(",38,,M,22,Main Road Jafrabad,12,8,4", ",38,,M,23,Main Road Jafrabad,12,8,4");
    let text =
        format!("{text}DLA1200022,Ritu Gupta,रितु गुप्ता,H,Arjun Kumar Gupta,,27,,F,31,Main Road Jafrabad,12,8,13\n");
    let newer = dir.join("roll-2027.csv");
    std::fs::write(&newer, text).unwrap();
    newer
}

fn a_newer_file_updates_unverified_rows_only(backend: Arc<Backend>) {
    let server = Server::start(backend);
    import_ok(&server, &sample());
    let tablet = Tablet::provision(&server, "12", "ward 12 tablet");
    tablet.sync();
    // A worker confirms Vikram Singh at the door, correcting his first name.
    let vikram = by_epic(&tablet, "DLA1200013").unwrap();
    let vikram_id = vikram["id"].as_str().unwrap().to_string();
    tablet.ok(&["edit", &vikram_id, "--set", "status=verified", "--set", "given_name=Vikram Pratap"]);
    let s = tablet.sync();
    assert_eq!(s["complete"], true, "{s}");

    let dir = tempfile::tempdir().unwrap();
    let newer = newer_extract(dir.path());
    let s = import_ok(&server, &newer);
    assert_eq!(
        (s["added"].as_i64(), s["updated"].as_i64(), s["kept"].as_i64(), s["unchanged"].as_i64()),
        (Some(1), Some(1), Some(1), Some(38)),
        "{s}"
    );
    assert_eq!((s["households_added"].as_i64(), s["households_updated"].as_i64()), (Some(0), Some(2)), "{s}");
    // Importing it again changes nothing more (the kept row is reported again).
    let again = import_ok(&server, &newer);
    assert_eq!((again["feed_entries"].as_i64(), again["kept"].as_i64()), (Some(0), Some(1)), "{again}");

    let s = tablet.sync();
    assert_eq!(s["complete"], true, "{s}");
    let arjun = by_epic(&tablet, "DLA1200016").unwrap();
    assert_eq!((arjun["given_name"].as_str(), arjun["family_name"].as_str()), (Some("Arjun Kumar"), Some("Gupta")));
    assert_eq!(arjun["address"]["house"], "31");
    assert_eq!(arjun["status"], "unverified");
    let households = tablet.json(&["households", "--json"]);
    let house = |h: &str| households.as_array().unwrap().iter().find(|x| x["house"] == h).cloned().unwrap();
    assert_eq!(arjun["household_id"], house("31")["id"]);
    assert_eq!(house("31")["members"], 5, "the Mishras, Arjun and Ritu");
    assert_eq!(house("30")["members"], 0, "Arjun left house 30");
    let vikram = tablet.json(&["show", &vikram_id, "--json"]);
    assert_eq!(vikram["status"], "verified");
    assert_eq!(vikram["given_name"], "Vikram Pratap");
    assert_eq!(vikram["address"]["house"], "22", "the worker's confirmed record keeps its values");
    let ritu = by_epic(&tablet, "DLA1200022").unwrap();
    assert_eq!(ritu["status"], "unverified");
    assert_ne!(ritu["health_id"], arjun["health_id"]);
    assert_eq!(count(&server.stats(), "residents"), 41);

    // A new tablet of the ward pulls everything from the start: the import
    // wrote each creating change once, as the document, and the documents
    // of Arjun and Vikram have changed since; the tablet still receives
    // each entry as recorded and ends with the same records.
    let fresh = Tablet::provision(&server, "12", "ward 12 replacement tablet");
    let s = fresh.sync();
    assert_eq!((s["complete"].as_bool(), s["created"].as_i64()), (Some(true), Some(22 + 8)), "{s}");
    let arjun_fresh = by_epic(&fresh, "DLA1200016").unwrap();
    assert_eq!(arjun_fresh, arjun);
    assert_eq!(fresh.json(&["show", &vikram_id, "--json"]), vikram);
}
both!(a_newer_file_updates_unverified_rows_only);
