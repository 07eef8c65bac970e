//! The parsers over real output of the Debian wrk and h2load and of oha 1.16.

use super::*;

const WRK: &str = "Running 1s test @ http://127.0.0.1:18181/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   693.21us    1.26ms  11.70ms   87.19%
    Req/Sec    25.90k     8.23k   42.25k    81.82%
  Latency Distribution
     50%  141.00us
     75%  452.00us
     90%    2.42ms
     99%    6.04ms
  28336 requests in 1.11s, 5.08MB read
Requests/sec:  25426.09
Transfer/sec:      4.56MB
";

const H2LOAD: &str = "starting benchmark...
spawning thread #0: 8 total client(s). 0 total requests
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
finished in 1.01s, 2000.00 req/s, 203.25KB/s
requests: 2005 total, 2006 started, 2005 done, 2000 succeeded, 5 failed, 5 errored, 0 timeout
status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 203.25KB (208132) total, 121.09KB (124000) headers (space savings 44.14%), 46.88KB (48000) data
                     min         max         mean         sd        +/- sd
time for request:       58us      9.50ms       540us      1.28ms    91.60%
time for connect:       71us       105us        88us        23us   100.00%
";

#[test]
fn wrk_output() {
    let l = parse_wrk(WRK).unwrap();
    assert_eq!(l.rps, 25426.09);
    assert!((l.p50_ms - 0.141).abs() < 1e-9);
    assert_eq!(l.p99_ms, 6.04);
}

#[test]
fn wrk_errors_fail_the_run() {
    let bad = WRK.replace(
        "Requests/sec:",
        "  Non-2xx or 3xx responses: 28336\nRequests/sec:",
    );
    assert!(parse_wrk(&bad).unwrap_err().contains("not 2xx"));
    let refused = WRK.replace(
        "Requests/sec:",
        "  Socket errors: connect 0, read 500, write 0, timeout 2\nRequests/sec:",
    );
    assert!(parse_wrk(&refused).is_err());
    let few = WRK.replace(
        "Requests/sec:",
        "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec:",
    );
    assert!(parse_wrk(&few).is_ok());
}

#[test]
fn h2load_output() {
    let l = parse_h2load(H2LOAD).unwrap();
    assert_eq!(l.rps, 2000.0);
    assert!((l.p50_ms - 0.540).abs() < 1e-9);
    assert_eq!(l.p99_ms, 9.50);
    let failed = H2LOAD.replace("5 failed", "500 failed");
    assert!(parse_h2load(&failed).is_err());
    let refused = "Application protocol: h2
finished in 1.00s, 0.00 req/s, 0B/s
requests: 0 total, 0 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout";
    assert!(parse_h2load(refused).is_err());
    let cleartext = H2LOAD.replace("protocol: h2", "protocol: h2c");
    assert!(parse_h2load(&cleartext).unwrap_err().contains("h2c"));
    let none = H2LOAD.replace("Application protocol: h2\n", "No protocol negotiated\n");
    assert!(parse_h2load(&none).is_err());
}

#[test]
fn oha_json() {
    let json = r#"{"summary":{"successRate":1.0,"total":2.0,"slowest":0.01,"fastest":0.0001,"average":0.001,"requestsPerSec":1234.5,"totalData":100,"sizePerRequest":24,"sizePerSec":1000.0},
"latencyPercentiles":{"p10":0.0001,"p50":0.0005,"p99":0.004,"p99.9":0.008},
"statusCodeDistribution":{"200":2468},"errorDistribution":{}}"#;
    let l = parse_oha(json).unwrap();
    assert_eq!(l.rps, 1234.5);
    assert!((l.p50_ms - 0.5).abs() < 1e-9);
    assert!((l.p99_ms - 4.0).abs() < 1e-9);
    let errors = json.replace(
        r#""errorDistribution":{}"#,
        r#""errorDistribution":{"connection refused":900}"#,
    );
    assert!(parse_oha(&errors).is_err());
}

#[test]
fn durations() {
    assert_eq!(duration_ms("2.00s"), Some(2000.0));
    assert_eq!(duration_ms("1.57ms"), Some(1.57));
    assert_eq!(duration_ms("12"), None);
}
