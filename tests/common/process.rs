//! Real processes for tests (the `buendel` server, chromedriver): a free loopback port, and a child
//! whose output goes to a log file and which is killed when the test ends, also on a failed
//! assertion.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free loopback port")
        .local_addr()
        .expect("address of the free port")
        .port()
}

/// A started process listening on `port`, killed on drop.
pub struct Process {
    pub child: Child,
    pub port: u16,
    pub name: String,
    pub log: PathBuf,
}

impl Process {
    /// Spawns `command` with stdout and stderr in `log_dir/<name>.log` and waits up to `timeout`
    /// until it accepts connections on `port`; panics with its output when it exits or times out.
    pub fn start(name: &str, mut command: Command, port: u16, log_dir: &Path, timeout: Duration) -> Process {
        std::fs::create_dir_all(log_dir).expect("create the log folder");
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("create the process log");
        let err = out.try_clone().expect("clone the process log handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let mut process = Process {
            child,
            port,
            name: name.to_string(),
            log,
        };
        let deadline = Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = matches!(process.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                let why = if exited { "exited" } else { "did not listen in time" };
                panic!("{name} {why} on port {port}:\n{}", process.stop());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        process
    }

    /// Stops the process and returns what it wrote.
    pub fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }

    /// What the process has written so far.
    pub fn output(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
