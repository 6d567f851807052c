"""The embedded Kafka broker: one KRaft node (broker and controller in one JVM).

Jars are resolved by Maven from `pom.xml` into `settings.cache_dir`; the broker's
log segments, metadata and its own log file live in `settings.data_dir / "kafka"`,
so stopping and starting it loses nothing.
"""

from __future__ import annotations

import base64
import logging
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shixin.settings import Settings
from shixin.stack._process import (
    is_alive,
    port_open,
    read_pid,
    stop_process,
    tail,
    write_pid,
)
from shixin.stack.errors import StackError

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
MIN_JAVA = 17
READY_TIMEOUT = 90.0
_MARKER = ".complete"


@dataclass(frozen=True)
class KafkaPaths:
    """Where the embedded broker keeps its files."""

    home: Path  # data_dir/kafka
    logs: Path  # log segments and KRaft metadata (log.dirs)
    config: Path  # server.properties
    log4j: Path
    server_log: Path  # the broker's own log
    console: Path  # JVM stdout/stderr
    pid_file: Path
    cluster_id: Path
    lib: Path  # cache_dir/kafka-<version>/lib

    @classmethod
    def for_settings(cls, settings: Settings) -> KafkaPaths:
        home = settings.data_dir / "kafka"
        return cls(
            home=home,
            logs=home / "logs",
            config=home / "server.properties",
            log4j=home / "log4j2.properties",
            server_log=home / "server.log",
            console=home / "console.log",
            pid_file=settings.data_dir / "kafka.pid",
            cluster_id=home / "cluster-id",
            lib=settings.cache_dir / f"kafka-{KAFKA_VERSION}" / "lib",
        )


def started_pid(settings: Settings) -> int | None:
    """Pid of the broker that `up` started and that still runs, else None."""
    return read_pid(KafkaPaths.for_settings(settings).pid_file)


def broker_answers(bootstrap_servers: str, timeout: float = 3.0) -> bool:
    """True when a broker at `bootstrap_servers` answers a metadata request."""
    from confluent_kafka.admin import AdminClient

    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    if port.isdigit() and not port_open(int(port), host.strip("[]") or "127.0.0.1"):
        return False  # spare librdkafka's connection-refused log lines
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "socket.connection.setup.timeout.ms": 2000,
        }
    )
    try:
        admin.list_topics(timeout=timeout)
    except Exception as exc:  # KafkaException; any failure means "not yet"
        logger.debug("broker=%s not answering: %s", bootstrap_servers, exc)
        return False
    return True


def check_tools() -> tuple[str, str]:
    """Paths of `java` (17+) and `mvn`; a StackError names what is missing."""
    java = shutil.which("java")
    mvn = shutil.which("mvn")
    missing = []
    if java is None:
        missing.append(f"java (JDK {MIN_JAVA}+)")
    if mvn is None:
        missing.append("mvn (Apache Maven)")
    if missing:
        raise StackError(
            f"cannot start the embedded Kafka broker: {' and '.join(missing)} "
            "not found on PATH; install them (e.g. apt-get install "
            "openjdk-17-jdk-headless maven), or run "
            "`docker compose up -d kafka postgres`, or point "
            "KAFKA_BOOTSTRAP_SERVERS at an existing broker"
        )
    assert java is not None and mvn is not None

    version = _java_major(java)
    if version is not None and version < MIN_JAVA:
        raise StackError(
            f"cannot start the embedded Kafka broker: java at {java} is version "
            f"{version}, Kafka {KAFKA_VERSION} needs {MIN_JAVA}+; install a newer "
            "JDK or set KAFKA_BOOTSTRAP_SERVERS"
        )
    return java, mvn


def _java_major(java: str) -> int | None:
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def ensure_jars(settings: Settings, mvn: str) -> Path:
    """Resolve the broker's jars into the cache (once; redone if interrupted)."""
    paths = KafkaPaths.for_settings(settings)
    marker = paths.lib.parent / _MARKER
    if marker.exists():
        return paths.lib

    logger.info("resolving kafka jars version=%s into=%s", KAFKA_VERSION, paths.lib)
    if paths.lib.exists():
        shutil.rmtree(paths.lib)
    paths.lib.mkdir(parents=True)
    pom = resources.files("shixin.stack").joinpath("pom.xml")
    with resources.as_file(pom) as pom_path:
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom_path),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={paths.lib}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    if result.returncode != 0:
        raise StackError(
            f"cannot resolve the Kafka {KAFKA_VERSION} jars with Maven (exit "
            f"{result.returncode}); is Maven Central reachable?\n"
            f"{(result.stdout + result.stderr)[-3000:]}"
        )
    if not any(paths.lib.glob("kafka_2.13-*.jar")):
        raise StackError(f"maven finished but no kafka_2.13 jar is in {paths.lib}")
    marker.write_text(f"kafka {KAFKA_VERSION}\n")
    return paths.lib


def _server_properties(settings: Settings, paths: KafkaPaths) -> str:
    port, ctl = settings.kafka_port, settings.kafka_controller_port
    return "\n".join(
        [
            "# written by `shixin stack up`; edits are overwritten",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{ctl}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={paths.logs}",
            f"num.partitions={settings.topic_partitions}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "num.network.threads=2",
            "num.io.threads=4",
            "",
        ]
    )


def _log4j_properties(paths: KafkaPaths) -> str:
    return "\n".join(
        [
            "# written by `shixin stack up`",
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = file",
            f"appender.file.fileName = {paths.server_log}",
            f"appender.file.filePattern = {paths.server_log}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 20MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = file",
            "logger.kafka.name = kafka",
            "logger.kafka.level = INFO",
            "logger.apache.name = org.apache.kafka",
            "logger.apache.level = INFO",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "",
        ]
    )


def _classpath(lib: Path) -> str:
    return f"{lib}/*"


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64 without padding, as
    `kafka-storage random-uuid` gives, never beginning with "-" (Kafka's own
    `Uuid.randomUuid` draws again then: the storage tool's argument parser would
    take such an id for an option, and 1 in 64 formats failed)."""
    while True:
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii")
        cluster_id = raw.rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(java: str, settings: Settings, paths: KafkaPaths) -> None:
    if (paths.logs / "meta.properties").exists():
        return

    if paths.cluster_id.exists():
        cluster_id = paths.cluster_id.read_text().strip()
    else:
        cluster_id = new_cluster_id()
        paths.cluster_id.write_text(cluster_id + "\n")

    logger.info("formatting kafka storage cluster_id=%s dir=%s", cluster_id, paths.logs)
    result = subprocess.run(
        [
            java,
            f"-Dlog4j2.configurationFile={paths.log4j}",
            "-cp",
            _classpath(paths.lib),
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",  # an old id may begin with "-"
            "-c",
            str(paths.config),
        ],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise StackError(
            f"cannot format the Kafka storage in {paths.logs} (exit "
            f"{result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}"
        )


def start(settings: Settings, timeout: float = READY_TIMEOUT) -> int:
    """Start the embedded broker (or reuse a running one); return its pid.

    Returns when the broker answers a metadata request.
    """
    paths = KafkaPaths.for_settings(settings)
    bootstrap = settings.bootstrap_servers

    pid = read_pid(paths.pid_file)
    if pid is not None:
        if _wait_ready(bootstrap, pid, timeout):
            logger.debug("reusing kafka pid=%d bootstrap=%s", pid, bootstrap)
            return pid
        raise StackError(
            f"the embedded Kafka broker (pid {pid}) runs but does not answer on "
            f"{bootstrap} within {timeout:.0f}s; last lines of {paths.server_log}:\n"
            f"{tail(paths.server_log)}"
        )
    if port_open(settings.kafka_port) or port_open(settings.kafka_controller_port):
        raise StackError(
            f"cannot start the embedded Kafka broker: port {settings.kafka_port} or "
            f"{settings.kafka_controller_port} is taken by a process `shixin stack up` "
            "did not start; stop it, choose KAFKA_PORT/KAFKA_CONTROLLER_PORT, or set "
            "KAFKA_BOOTSTRAP_SERVERS to use it"
        )

    java, mvn = check_tools()
    ensure_jars(settings, mvn)
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(_server_properties(settings, paths))
    paths.log4j.write_text(_log4j_properties(paths))
    _format_storage(java, settings, paths)

    command = [
        java,
        f"-Xmx{settings.kafka_heap}",
        f"-Xms{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}",
        f"-Dkafka.logs.dir={paths.home}",
        "-cp",
        _classpath(paths.lib),
        "kafka.Kafka",
        str(paths.config),
    ]
    with paths.console.open("ab") as console:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            cwd=paths.home,
            start_new_session=True,
        )
    write_pid(paths.pid_file, process.pid)
    logger.info("started kafka pid=%d bootstrap=%s", process.pid, bootstrap)

    if not _wait_ready(bootstrap, process.pid, timeout, process):
        code = process.poll()
        if code is None:
            stop_process(process.pid, name="kafka", grace=10)
        paths.pid_file.unlink(missing_ok=True)
        state = f"exited with code {code}" if code is not None else "did not answer"
        raise StackError(
            f"the embedded Kafka broker {state} within {timeout:.0f}s on {bootstrap}; "
            f"last lines of {paths.server_log}:\n{tail(paths.server_log)}\n"
            f"--- {paths.console}:\n{tail(paths.console, 15)}"
        )
    return process.pid


def _wait_ready(
    bootstrap: str,
    pid: int,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        if is_alive(pid) and broker_answers(bootstrap, timeout=2.0):
            return True
        time.sleep(0.3)
    return False


def stop(settings: Settings) -> int | None:
    """Stop the broker that `up` started (SIGTERM, then SIGKILL); its pid, or None."""
    paths = KafkaPaths.for_settings(settings)
    pid = read_pid(paths.pid_file)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return None
    killed = stop_process(pid, name="kafka", grace=45.0)
    paths.pid_file.unlink(missing_ok=True)
    logger.info("stopped kafka pid=%d killed=%s", pid, killed)
    return pid


def version(settings: Settings) -> str:
    """The embedded broker's version (from its jars); external brokers are unknown."""
    if not settings.embedded_kafka:
        return "external"
    return KAFKA_VERSION
