//! `parse_config_file` reads the config files of Tornado apps as Tornado's
//! own `parse_config_file` does (checked by running it on the same files),
//! for the lines it reads: `name = literal`.

use std::path::PathBuf;

use test_support::python_stdout;
use tornado::options::{Error, OptionParser};

fn options() -> OptionParser {
    let mut options = OptionParser::new();
    options
        .define("port", 8888_u16, "port")
        .define("mysql_host", String::from("localhost"), "database")
        .define("debug", false, "debug mode")
        .define("ratio", 0.5_f64, "a float")
        .define("workers", 1_i64, "worker count");
    options
}

/// The same options in Python Tornado, after `parse_config_file(path)`:
/// `name=value` per line, or the error's class name.
fn tornado_reads(path: &std::path::Path) -> String {
    python_stdout(&format!(
        "from tornado.options import OptionParser\n\
         o = OptionParser()\n\
         o.define('port', default=8888, type=int)\n\
         o.define('mysql_host', default='localhost', type=str)\n\
         o.define('debug', default=False, type=bool)\n\
         o.define('ratio', default=0.5, type=float)\n\
         o.define('workers', default=1, type=int)\n\
         try:\n    o.parse_config_file({:?})\n\
         except Exception as e:\n    print(type(e).__name__)\n\
         else:\n    \
         for name in ['port', 'mysql_host', 'debug', 'ratio', 'workers']:\n        \
         print(f'{{name}}={{getattr(o, name)}}')\n",
        path.display().to_string()
    ))
}

fn ours_reads(path: &std::path::Path) -> String {
    let mut options = options();
    match options.parse_config_file(path) {
        Err(Error::InvalidValue { .. }) => "Error\n".to_owned(),
        Err(err) => panic!("{err}"),
        Ok(()) => {
            let port: u16 = options.get("port");
            let host: String = options.get("mysql_host");
            let debug: bool = options.get("debug");
            let ratio: f64 = options.get("ratio");
            let workers: i64 = options.get("workers");
            // Python prints a bool as True/False and a float with a point.
            let debug = if debug { "True" } else { "False" };
            let ratio = if ratio.fract() == 0.0 {
                format!("{ratio:.1}")
            } else {
                ratio.to_string()
            };
            format!(
                "port={port}\nmysql_host={host}\ndebug={debug}\nratio={ratio}\nworkers={workers}\n"
            )
        }
    }
}

fn config(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tornado-rs-{}-{name}.conf", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_files_read_as_tornado_reads_them() {
    let cases = [
        (
            "plain",
            "port = 80\nmysql_host = 'db.example.com:3306'\ndebug = True\nratio = 2.5\n",
        ),
        (
            "strings",
            "port = '8080'\ndebug = 'false'\nratio = '1e3'\nworkers = \"-3\"\n",
        ),
        (
            "comments",
            "# deployed by ops\n\nport = 81  # the proxy's\nunknown_name = 'ignored'\n",
        ),
        ("last_wins", "port = 1\nport = 2\nworkers = 0x10\n"),
        ("escapes", "mysql_host = \"h\\u00e9\\x41\"\n"),
        ("int_for_str", "mysql_host = 5\n"),
        ("float_for_int", "port = 1.5\n"),
        ("int_for_bool", "debug = 1\n"),
    ];
    for (name, text) in cases {
        let path = config(name, text);
        let theirs = tornado_reads(&path);
        let ours = ours_reads(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(ours, theirs, "\n{name}: {text:?}");
    }
}

#[test]
fn python_the_parser_does_not_run_is_an_error_with_its_line() {
    let path = config(
        "import",
        "port = 80\nimport os\nmysql_host = os.environ['H']\n",
    );
    let mut options = options();
    let err = options.parse_config_file(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, Error::ConfigFile { line: 2, .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(", line 2: only `name = value` lines"),
        "{err}"
    );
    let missing = options
        .parse_config_file("/nonexistent/app.conf")
        .unwrap_err();
    assert!(
        matches!(missing, Error::ConfigFile { line: 0, .. }),
        "{missing:?}"
    );
}
