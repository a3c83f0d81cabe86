// The benchmark of ../shared/design/PERFORMANCE.md: workloads W1–W7, each through matrx-orm's
// public API and through raw libpq written as well as libpq allows (prepared statements,
// binary results, pipeline mode for W2, binary COPY for W4), side by side in one run.
//
// Prints one line per client and workload — `CLIENT WORKLOAD VALUE UNIT [METHOD]` — for every
// run, then a summary of medians with the ratio matrx_orm / libpq_raw and the spread.
// Sizes: BENCH_ROWS, W1_N, W2_N, W2_TASKS, W2_POOL, W4_N, W5_N, W6_N, W7_ROWS, BENCH_RUNS,
// BENCH_REPEAT (W1, W2 and W5 measured this many times per run);
// a subset: BENCH_WORKLOADS=W1,W3; one side of W2: BENCH_W2_CLIENTS. The connection: the PG* variables.
//
// `meta` (jsonb) becomes nlohmann::json on both sides: the same struct is materialised.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>

#include "matrx/orm.hpp"
#include "steal.hpp"

namespace asio = boost::asio;
namespace orm = matrx::orm;
using orm::Q;

// The three tables share one shape: an abstract model, and one concrete model per table.
struct UserRow {
  orm::Uuid uid{};
  std::string username{};
  std::string email{};
  std::int32_t age = 0;
  std::optional<double> score{};
  bool is_active = true;
  orm::Timestamp created_at{};
  std::optional<nlohmann::json> meta{};
};
MATRX_ABSTRACT_MODEL(UserRow, (uid), (username), (email), (age), (score), (is_active, orm::db_default("true")),
                     (created_at, orm::db_default("now()")), (meta))

struct BenchUser : UserRow {  // W1–W3, W5, W6
  std::int64_t id = 0;
};
MATRX_MODEL_EXTENDS(BenchUser, UserRow, orm::table("users").cache(orm::CachePolicy::permanent),
                    (id, orm::primary_key, orm::identity))

struct CopyUser : UserRow {  // W4's target
  std::int64_t id = 0;
};
MATRX_MODEL_EXTENDS(CopyUser, UserRow, orm::table("users_copy"), (id, orm::primary_key, orm::identity))

struct BigUser : UserRow {  // W7's 10M-row table
  std::int64_t id = 0;
};
MATRX_MODEL_EXTENDS(BigUser, UserRow, orm::table("users_big"), (id, orm::primary_key, orm::identity))

namespace {

// ---- settings and reporting ---------------------------------------------------------------

long env_size(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;
}

struct Settings {
  long rows = env_size("BENCH_ROWS", 100'000);
  long w1 = env_size("W1_N", 20'000);
  long w2 = env_size("W2_N", 100'000);
  long w2_tasks = env_size("W2_TASKS", 64);
  long w2_pool = env_size("W2_POOL", 8);
  long w4 = env_size("W4_N", 100'000);
  long w5 = env_size("W5_N", 10'000);
  long w6 = env_size("W6_N", 1'000'000);
  long w7 = env_size("W7_ROWS", 10'000'000);
  long runs = env_size("BENCH_RUNS", 3);
  // W1, W2 and W5 take a second or two: each run measures them this many times, the two
  // clients alternating, so their medians rest on more samples than the host's noise.
  long short_repeats = std::max(1L, env_size("BENCH_REPEAT", 3));
  std::string workloads = std::getenv("BENCH_WORKLOADS") ? std::getenv("BENCH_WORKLOADS") : "W1,W2,W3,W4,W5,W6,W7";
  // W2 only, for profiling one side: BENCH_W2_CLIENTS=matrx_orm or libpq_raw.
  std::string w2_clients = std::getenv("BENCH_W2_CLIENTS") ? std::getenv("BENCH_W2_CLIENTS") : "matrx_orm,libpq_raw";
  bool wants_client(const std::string& c) const { return ("," + w2_clients + ",").find("," + c + ",") != std::string::npos; }
  bool wants(const std::string& w) const { return ("," + workloads + ",").find("," + w + ",") != std::string::npos; }
};

struct Sample {
  std::string client, workload, unit, method;
  double value;
};
std::vector<Sample> samples;

void report(std::string client, std::string workload, double value, std::string unit, std::string method = {}) {
  std::cout << fmt::format("{} {} {:.1f} {}{}", client, workload, value, unit, method.empty() ? "" : " " + method)
            << std::endl;
  samples.push_back({std::move(client), std::move(workload), std::move(unit), std::move(method), value});
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Peak RSS during a workload, in MB: the allocator first returns freed memory to the system
// (malloc_trim), then a thread samples VmRSS every 2 ms until the workload ends. (Resetting
// VmHWM through /proc/self/clear_refs is not available everywhere.)
double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}
struct PeakRss {
  std::atomic<bool> done{false};
  std::atomic<double> peak{0};
  std::thread sampler;
  PeakRss() {
    ::malloc_trim(0);
    peak = rss_mb();
    sampler = std::thread([this] {
      while (!done) {
        peak = std::max(peak.load(), rss_mb());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  double stop() {
    done = true;
    sampler.join();
    return std::max(peak.load(), rss_mb());
  }
};

// The client process's CPU time (all threads) over a section: on 2 cores the client competes
// with the server's backends, so what it costs per query matters.

struct ClientCpu {
  static std::pair<double, double> now() {  // user, system in microseconds
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
    return {us(u.ru_utime), us(u.ru_stime)};
  }
  // The whole machine's busy time (all cores, server backends included), from /proc/stat.
  static double machine_busy() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
    return (user + nice + system + irq + softirq) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  // Every process named "postgres" on this machine (the backends of both clients; the
  // throwaway server is the only one running during a bench): CPU microseconds, and how
  // often they went to sleep waiting (voluntary context switches: a backend that finds
  // its pipeline empty sleeps, and pays a wake-up for the next query).
  struct Server {
    double busy_us = 0;
    double sleeps = 0;
  };
  static Server server() {
    Server out;
    double ticks = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string pid = entry.path().filename().string();
      if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
      std::ifstream in(entry.path() / "stat");
      std::string line;
      if (!std::getline(in, line)) continue;
      const auto open = line.find('('), close = line.rfind(')');
      if (open == std::string::npos || close == std::string::npos || line.substr(open + 1, close - open - 1) != "postgres") continue;
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
      }
      ticks += utime + stime;
      std::ifstream status(entry.path() / "status");
      while (std::getline(status, line))
        if (line.starts_with("voluntary_ctxt_switches:")) out.sleeps += std::stod(line.substr(24));
    }
    out.busy_us = ticks * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    return out;
  }
  std::pair<double, double> start = now();
  double machine_start = machine_busy();
  Server server_start = server();
  // Records user and system microseconds per query as W2_cpu_user / W2_cpu_sys samples.
  void record(const std::string& client, std::size_t n) const {
    const auto [user, sys] = now();
    const auto per = [n](double us) { return us / static_cast<double>(n); };
    samples.push_back({client, "W2_cpu_user", "us/query", "", per(user - start.first)});
    samples.push_back({client, "W2_cpu_sys", "us/query", "", per(sys - start.second)});
    samples.push_back({client, "W2_cpu_machine", "us/query", "", per(machine_busy() - machine_start)});
    const Server end = server();
    samples.push_back({client, "W2_cpu_server", "us/query", "", per(end.busy_us - server_start.busy_us)});
    samples.push_back({client, "W2_server_sleeps", "per query", "", per(end.sleeps - server_start.sleeps)});
  }
};

// Pseudo-random primary keys, uniform over the table, from one fixed generator.
std::vector<std::int64_t> keys(long n, long rows, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<std::int64_t> pick(1, rows);
  std::vector<std::int64_t> out(static_cast<std::size_t>(n));
  for (auto& k : out) k = pick(gen);
  return out;
}

// ---- raw libpq ----------------------------------------------------------------------------

PGconn* raw_connect() {
  PGconn* c = PQconnectdb("");
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(std::string("connect: ") + PQerrorMessage(c));
  return c;
}

void check(PGresult* r, PGconn* c, ExecStatusType want, const char* what) {
  if (PQresultStatus(r) != want) {
    std::string message = fmt::format("{}: {}", what, PQerrorMessage(c));
    PQclear(r);
    throw std::runtime_error(message);
  }
}

void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) check(r, c, PGRES_COMMAND_OK, sql.c_str());
  PQclear(r);
}

void prepare(PGconn* c, const char* name, const char* sql) {
  PGresult* r = PQprepare(c, name, sql, 0, nullptr);
  check(r, c, PGRES_COMMAND_OK, name);
  PQclear(r);
}

std::uint64_t be64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return be64toh(v);
}
std::uint32_t be32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}

constexpr const char* select_columns = "id, uid, username, email, age, score, is_active, created_at, meta";
constexpr std::int64_t postgres_epoch_us = 946'684'800'000'000;  // 2000-01-01 in Unix microseconds

// Decodes one binary row (the select_columns order) into the struct.
void decode(PGresult* r, int row, BenchUser& u) {
  u.id = static_cast<std::int64_t>(be64(PQgetvalue(r, row, 0)));
  std::memcpy(u.uid.bytes.data(), PQgetvalue(r, row, 1), 16);
  u.username.assign(PQgetvalue(r, row, 2), static_cast<std::size_t>(PQgetlength(r, row, 2)));
  u.email.assign(PQgetvalue(r, row, 3), static_cast<std::size_t>(PQgetlength(r, row, 3)));
  u.age = static_cast<std::int32_t>(be32(PQgetvalue(r, row, 4)));
  if (PQgetisnull(r, row, 5)) {
    u.score.reset();
  } else {
    const std::uint64_t bits = be64(PQgetvalue(r, row, 5));
    double d;
    std::memcpy(&d, &bits, 8);
    u.score = d;
  }
  u.is_active = PQgetvalue(r, row, 6)[0] != 0;
  u.created_at = orm::Timestamp(std::chrono::microseconds(static_cast<std::int64_t>(be64(PQgetvalue(r, row, 7))) +
                                                          postgres_epoch_us));
  if (PQgetisnull(r, row, 8)) u.meta.reset();
  else u.meta = nlohmann::json::parse(std::string_view(PQgetvalue(r, row, 8) + 1, static_cast<std::size_t>(PQgetlength(r, row, 8) - 1)));
}

struct KeyParam {  // one binary int8 parameter
  std::uint64_t be;
  const char* value;
  int length = 8, format = 1;
  explicit KeyParam(std::int64_t k) : be(htobe64(static_cast<std::uint64_t>(k))), value(reinterpret_cast<const char*>(&be)) {}
};

double raw_w1(const std::vector<std::int64_t>& ids) {
  PGconn* c = raw_connect();
  const std::string sql = fmt::format("SELECT {} FROM users WHERE id = $1", select_columns);
  prepare(c, "w1", sql.c_str());
  BenchUser u;
  const auto t = std::chrono::steady_clock::now();
  for (auto id : ids) {
    KeyParam k(id);
    PGresult* r = PQexecPrepared(c, "w1", 1, &k.value, &k.length, &k.format, 1);
    check(r, c, PGRES_TUPLES_OK, "w1");
    if (PQntuples(r) != 1) throw std::runtime_error("w1: no row");
    decode(r, 0, u);
    PQclear(r);
  }
  const double rate = static_cast<double>(ids.size()) / seconds_since(t);
  PQfinish(c);
  return rate;
}

// W2's ceiling: `pool` connections on threads, each keeping tasks/pool queries in flight in
// pipeline mode, one Sync per query.
double raw_w2(const std::vector<std::int64_t>& ids, long pool, long tasks) {
  const std::size_t per = ids.size() / static_cast<std::size_t>(pool);
  const int window = static_cast<int>(std::max(1L, tasks / pool));
  std::vector<PGconn*> conns;
  for (long i = 0; i < pool; ++i) {
    conns.push_back(raw_connect());
    const std::string sql = fmt::format("SELECT {} FROM users WHERE id = $1", select_columns);
    prepare(conns.back(), "w2", sql.c_str());
  }
  const auto t = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (long w = 0; w < pool; ++w) {
    threads.emplace_back([&, w] {
      PGconn* c = conns[static_cast<std::size_t>(w)];
      PQenterPipelineMode(c);
      std::size_t sent = 0, done = 0;
      const std::size_t begin = static_cast<std::size_t>(w) * per;
      BenchUser u;
      std::vector<KeyParam> params;
      params.reserve(per);
      while (done < per) {
        while (sent < per && sent - done < static_cast<std::size_t>(window)) {
          params.emplace_back(ids[begin + sent]);
          const KeyParam& k = params.back();
          PQsendQueryPrepared(c, "w2", 1, &k.value, &k.length, &k.format, 1);
          PQpipelineSync(c);
          ++sent;
        }
        PGresult* r = PQgetResult(c);  // the row
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) decode(r, 0, u);
        PQclear(r);
        while ((r = PQgetResult(c)) != nullptr) PQclear(r);  // end of query
        r = PQgetResult(c);  // the Sync
        PQclear(r);
        ++done;
      }
      PQexitPipelineMode(c);
    });
  }
  for (auto& th : threads) th.join();
  const double rate = static_cast<double>(per * static_cast<std::size_t>(pool)) / seconds_since(t);
  for (auto* c : conns) PQfinish(c);
  return rate;
}

double raw_w3(long rows) {
  PGconn* c = raw_connect();
  const std::string sql = fmt::format("SELECT {} FROM users", select_columns);
  prepare(c, "w3", sql.c_str());
  const auto t = std::chrono::steady_clock::now();
  PGresult* r = PQexecPrepared(c, "w3", 0, nullptr, nullptr, nullptr, 1);
  check(r, c, PGRES_TUPLES_OK, "w3");
  std::vector<BenchUser> out(static_cast<std::size_t>(PQntuples(r)));
  for (int i = 0; i < PQntuples(r); ++i) decode(r, i, out[static_cast<std::size_t>(i)]);
  PQclear(r);
  const double rate = static_cast<double>(out.size()) / seconds_since(t);
  if (static_cast<long>(out.size()) != rows) throw std::runtime_error("w3: wrong row count");
  PQfinish(c);
  return rate;
}

void put16(std::string& b, std::uint16_t v) { v = htons(v); b.append(reinterpret_cast<const char*>(&v), 2); }
void put32(std::string& b, std::uint32_t v) { v = htonl(v); b.append(reinterpret_cast<const char*>(&v), 4); }
void put64(std::string& b, std::uint64_t v) { v = htobe64(v); b.append(reinterpret_cast<const char*>(&v), 8); }

std::vector<CopyUser> new_rows(long n, long offset) {
  std::vector<CopyUser> out(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    auto& u = out[static_cast<std::size_t>(i)];
    const long k = offset + i;
    u.uid = orm::Uuid::random();
    u.username = fmt::format("copy{}", k);
    u.email = fmt::format("copy{}@example.com", k);
    u.age = static_cast<std::int32_t>(18 + k % 60);
    if (k % 7 != 0) u.score = static_cast<double>(k) * 0.5;
    u.created_at = orm::Timestamp(std::chrono::microseconds(1'700'000'000'000'000 + k));
    if (k % 10 != 0) u.meta = nlohmann::json{{"i", k}, {"tag", "t" + std::to_string(k % 5)}};
  }
  return out;
}

// Binary COPY of everything but the identity key.
double raw_w4(const std::vector<CopyUser>& rows) {
  PGconn* c = raw_connect();
  const auto t = std::chrono::steady_clock::now();
  PGresult* r = PQexec(c, "COPY users_copy (uid, username, email, age, score, is_active, created_at, meta) FROM STDIN "
                          "(FORMAT binary)");
  check(r, c, PGRES_COPY_IN, "w4 copy");
  PQclear(r);
  std::string buf("PGCOPY\n\377\r\n\0", 11);
  put32(buf, 0);
  put32(buf, 0);
  for (const auto& u : rows) {
    put16(buf, 8);
    put32(buf, 16);
    buf.append(reinterpret_cast<const char*>(u.uid.bytes.data()), 16);
    put32(buf, static_cast<std::uint32_t>(u.username.size()));
    buf += u.username;
    put32(buf, static_cast<std::uint32_t>(u.email.size()));
    buf += u.email;
    put32(buf, 4);
    put32(buf, static_cast<std::uint32_t>(u.age));
    if (u.score) {
      put32(buf, 8);
      std::uint64_t bits;
      std::memcpy(&bits, &*u.score, 8);
      put64(buf, bits);
    } else {
      put32(buf, 0xFFFFFFFF);
    }
    put32(buf, 1);
    buf.push_back(u.is_active ? 1 : 0);
    put32(buf, 8);
    put64(buf, static_cast<std::uint64_t>(u.created_at.time_since_epoch().count() - postgres_epoch_us));
    if (u.meta) {
      const std::string text = u.meta->dump();
      put32(buf, static_cast<std::uint32_t>(text.size() + 1));
      buf.push_back(1);
      buf += text;
    } else {
      put32(buf, 0xFFFFFFFF);
    }
    if (buf.size() > (1 << 20)) {
      if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) throw std::runtime_error(PQerrorMessage(c));
      buf.clear();
    }
  }
  put16(buf, 0xFFFF);
  if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1 || PQputCopyEnd(c, nullptr) != 1)
    throw std::runtime_error(PQerrorMessage(c));
  r = PQgetResult(c);
  check(r, c, PGRES_COMMAND_OK, "w4 copy end");
  PQclear(r);
  const double rate = static_cast<double>(rows.size()) / seconds_since(t);
  PQfinish(c);
  return rate;
}

double raw_w5(const std::vector<std::int64_t>& ids) {
  PGconn* c = raw_connect();
  prepare(c, "w5", "UPDATE users SET score = $2 WHERE id = $1");
  const auto t = std::chrono::steady_clock::now();
  double v = 1.0;
  for (auto id : ids) {
    KeyParam k(id);
    std::uint64_t bits;
    v += 0.25;
    std::memcpy(&bits, &v, 8);
    bits = htobe64(bits);
    const char* values[] = {k.value, reinterpret_cast<const char*>(&bits)};
    const int lengths[] = {8, 8}, formats[] = {1, 1};
    PGresult* r = PQexecPrepared(c, "w5", 2, values, lengths, formats, 1);
    check(r, c, PGRES_COMMAND_OK, "w5");
    if (std::strcmp(PQcmdTuples(r), "1") != 0) throw std::runtime_error("w5: not one row");
    PQclear(r);
  }
  const double rate = static_cast<double>(ids.size()) / seconds_since(t);
  PQfinish(c);
  return rate;
}

// Streams a table through a cursor, 10,000 rows per FETCH, decoding each row and dropping it.
double raw_w7(long rows) {
  PGconn* c = raw_connect();
  const auto t = std::chrono::steady_clock::now();
  exec(c, "BEGIN");
  exec(c, fmt::format("DECLARE big CURSOR FOR SELECT {} FROM users_big", select_columns));
  BenchUser u;
  long seen = 0;
  for (;;) {
    PGresult* r = PQexecParams(c, "FETCH 10000 FROM big", 0, nullptr, nullptr, nullptr, nullptr, 1);
    check(r, c, PGRES_TUPLES_OK, "w7 fetch");
    const int n = PQntuples(r);
    for (int i = 0; i < n; ++i) decode(r, i, u);
    PQclear(r);
    seen += n;
    if (n == 0) break;
  }
  exec(c, "COMMIT");
  const double rate = static_cast<double>(seen) / seconds_since(t);
  PQfinish(c);
  if (seen != rows) throw std::runtime_error("w7: wrong row count");
  return rate;
}

// ---- matrx-orm ----------------------------------------------------------------------------

// The ORM side runs on one io_context thread (pools keep it busy, so it runs until stopped).
// BENCH_IO_THREADS (default 1) threads run it: the library is thread-safe, and W2's raw
// client uses one thread per connection.
struct Runtime {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  Runtime() {
    const long n = std::max(1L, env_size("BENCH_IO_THREADS", 1));
    for (long i = 0; i < n; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~Runtime() {
    guard.reset();
    io.stop();
    for (auto& t : threads) t.join();
  }
};

template <class T>
T run_orm(Runtime& rt, std::function<asio::awaitable<T>()> body) {
  return asio::co_spawn(rt.io, body(), asio::use_future).get();
}

asio::awaitable<double> orm_w1(const std::vector<std::int64_t>& ids) {
  const auto t = std::chrono::steady_clock::now();
  for (auto id : ids) {
    const auto query = orm::objects<BenchUser>().filter(orm::col<&BenchUser::id> == id);
    const BenchUser u = co_await query.get();
    if (u.id != id) throw std::runtime_error("orm w1: wrong row");
  }
  co_return static_cast<double>(ids.size()) / seconds_since(t);
}

asio::awaitable<void> orm_w2_task(const std::vector<std::int64_t>& ids, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const auto query = orm::objects<BenchUser>().filter(orm::col<&BenchUser::id> == ids[i]);
    const BenchUser u = co_await query.get();
    if (u.id != ids[i]) throw std::runtime_error("orm w2: wrong row");
  }
}

double orm_w2(Runtime& rt, const std::vector<std::int64_t>& ids, long tasks) {
  const std::size_t per = ids.size() / static_cast<std::size_t>(tasks);
  std::vector<std::future<void>> done;
  const auto t = std::chrono::steady_clock::now();
  for (long i = 0; i < tasks; ++i)
    done.push_back(asio::co_spawn(rt.io, orm_w2_task(ids, static_cast<std::size_t>(i) * per, static_cast<std::size_t>(i + 1) * per),
                                  asio::use_future));
  for (auto& f : done) f.get();
  return static_cast<double>(per * static_cast<std::size_t>(tasks)) / seconds_since(t);
}

asio::awaitable<double> orm_w3(long rows) {
  const auto t = std::chrono::steady_clock::now();
  const std::vector<BenchUser> all = co_await orm::objects<BenchUser>().all();
  const double rate = static_cast<double>(all.size()) / seconds_since(t);
  if (static_cast<long>(all.size()) != rows) throw std::runtime_error("orm w3: wrong row count");
  co_return rate;
}

// The raw client gets no ids back from its COPY, so neither does the ORM here (refresh off);
// BENCH_W4_REFRESH=1 measures bulk_create's default, which also fills in every id.
asio::awaitable<double> orm_w4(std::vector<CopyUser> rows) {
  const char* refresh = std::getenv("BENCH_W4_REFRESH");
  orm::BulkCreateOptions options;
  options.refresh = refresh && std::string_view(refresh) == "1";
  const auto t = std::chrono::steady_clock::now();
  const std::size_t n = co_await orm::bulk_create(rows, options);
  const double rate = static_cast<double>(n) / seconds_since(t);
  if (n != rows.size()) throw std::runtime_error("orm w4: wrong count");
  co_return rate;
}

asio::awaitable<double> orm_w5(const std::vector<std::int64_t>& ids) {
  const auto t = std::chrono::steady_clock::now();
  double v = 1.0;
  for (auto id : ids) {
    v += 0.25;
    const auto query = orm::objects<BenchUser>().filter(orm::col<&BenchUser::id> == id);
    const std::int64_t changed = co_await query.update_count("score", orm::Value(v));
    if (changed != 1) throw std::runtime_error(fmt::format("orm w5: {} rows for id {}", changed, id));
  }
  co_return static_cast<double>(ids.size()) / seconds_since(t);
}

asio::awaitable<double> orm_w6(const std::vector<std::int64_t>& ids, long distinct) {
  // Warm: every key read once through get (which fills the cache).
  for (long k = 1; k <= distinct; ++k) {
    const auto filter = orm::col<&BenchUser::id> == k;
    co_await orm::get<BenchUser>(filter);
  }
  const auto hits_before = orm::StateManager<BenchUser>::stats().hits;
  const auto t = std::chrono::steady_clock::now();
  for (auto id : ids) {
    const auto filter = orm::col<&BenchUser::id> == (id % distinct) + 1;
    const BenchUser u = co_await orm::get<BenchUser>(filter);
    if (u.id == 0) throw std::runtime_error("orm w6: empty");
  }
  const double rate = static_cast<double>(ids.size()) / seconds_since(t);
  if (orm::StateManager<BenchUser>::stats().hits - hits_before != ids.size()) throw std::runtime_error("orm w6: misses");
  co_return rate;
}

asio::awaitable<double> orm_w7(long rows) {
  const auto t = std::chrono::steady_clock::now();
  std::uint64_t seen = 0;
  const auto count = [&](std::vector<BigUser>& chunk) { seen += chunk.size(); };
  const auto query = orm::objects<BigUser>();
  const std::uint64_t n = co_await query.for_each_chunk(10'000, count);
  const double rate = static_cast<double>(n) / seconds_since(t);
  if (static_cast<long>(seen) != rows) throw std::runtime_error("orm w7: wrong row count");
  co_return rate;
}

// ---- setup --------------------------------------------------------------------------------

void load(long rows, long big_rows, bool need_big) {
  PGconn* c = raw_connect();
  const char* shape =
      "(id bigserial PRIMARY KEY, uid uuid NOT NULL, username text NOT NULL{}, email text NOT NULL, age int NOT NULL, "
      "score double precision, is_active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL DEFAULT now(), "
      "meta jsonb)";
  const std::string fill =
      "SELECT md5(i::text)::uuid, 'user' || i, 'user' || i || '@example.com', 18 + i % 60, "
      "CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END, true, '2024-01-01'::timestamptz + i * interval '1 second', "
      "CASE WHEN i % 10 = 0 THEN NULL ELSE jsonb_build_object('i', i, 'tag', 't' || (i % 5)) END "
      "FROM generate_series(1, {}) AS i";
  exec(c, "DROP TABLE IF EXISTS users, users_copy");
  exec(c, fmt::format(fmt::runtime(std::string("CREATE TABLE users ") + shape), " UNIQUE"));
  exec(c, fmt::format(fmt::runtime(std::string("CREATE TABLE users_copy ") + shape), ""));
  exec(c, fmt::format(fmt::runtime("INSERT INTO users (uid, username, email, age, score, is_active, created_at, meta) " + fill),
                      rows));
  if (need_big) {
    PGresult* r = PQexec(c, "SELECT count(*) FROM pg_class WHERE relname = 'users_big'");
    const bool exists = std::atoi(PQgetvalue(r, 0, 0)) == 1;
    PQclear(r);
    long have = 0;
    if (exists) {
      r = PQexec(c, "SELECT count(*) FROM users_big");
      have = std::atol(PQgetvalue(r, 0, 0));
      PQclear(r);
    }
    if (have != big_rows) {  // kept between runs: 10M rows take a while to generate
      std::cerr << "loading users_big (" << big_rows << " rows)…" << std::endl;
      exec(c, "DROP TABLE IF EXISTS users_big");
      exec(c, fmt::format(fmt::runtime(std::string("CREATE UNLOGGED TABLE users_big ") + shape), ""));
      exec(c, fmt::format(fmt::runtime("INSERT INTO users_big (uid, username, email, age, score, is_active, created_at, meta) " +
                                       fill),
                          big_rows));
    }
  }
  exec(c, "VACUUM ANALYZE users");
  PQfinish(c);
}

void truncate_copy() {
  PGconn* c = raw_connect();
  exec(c, "TRUNCATE users_copy RESTART IDENTITY");
  PQfinish(c);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void summary() {
  std::map<std::pair<std::string, std::string>, std::vector<double>> by;
  std::map<std::string, std::string> unit;
  for (const auto& s : samples) {
    by[{s.workload, s.client}].push_back(s.value);
    if (s.client != "rss") unit[s.workload] = s.unit;
  }
  std::cout << "\nworkload  matrx_orm (median, spread)   libpq_raw (median, spread)   ratio\n";
  for (const char* w : {"W1", "W2", "W3", "W4", "W5", "W6", "W7"}) {
    auto o = by.find({w, "matrx_orm"});
    auto r = by.find({w, "libpq_raw"});
    if (o == by.end() && r == by.end()) continue;
    auto cell = [](const std::vector<double>& v) {
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      const double m = median(v);
      return fmt::format("{:>12.1f} ±{:>4.1f}%", m, m > 0 ? 50.0 * (*hi - *lo) / m : 0.0);
    };
    const std::string orm_cell = o == by.end() ? fmt::format("{:>19}", "n/a") : cell(o->second);
    const std::string raw_cell = r == by.end() ? fmt::format("{:>19}", "n/a") : cell(r->second);
    const std::string ratio = o != by.end() && r != by.end() ? fmt::format("{:.2f}", median(o->second) / median(r->second)) : "-";
    std::cout << fmt::format("{:<9} {}          {}          {}  ({})\n", w, orm_cell, raw_cell, ratio, unit[w]);
  }
  for (const char* client : {"matrx_orm", "libpq_raw"}) {
    auto user = by.find({"W2_cpu_user", client});
    auto sys = by.find({"W2_cpu_sys", client});
    auto machine = by.find({"W2_cpu_machine", client});
    auto server = by.find({"W2_cpu_server", client});
    auto sleeps = by.find({"W2_server_sleeps", client});
    if (user != by.end() && sys != by.end() && machine != by.end() && server != by.end() && sleeps != by.end())
      std::cout << fmt::format("W2 CPU {}: client {:.1f} us/query user, {:.1f} system; server {:.1f}, {:.2f} backend sleeps/query; "
                               "whole machine {:.1f} (medians)\n",
                               client, median(user->second), median(sys->second), median(server->second), median(sleeps->second),
                               median(machine->second));
  }
  for (const char* w : {"W3", "W7"})
    for (const char* client : {"matrx_orm", "libpq_raw"}) {
      auto it = by.find({std::string(w) + "_rss", client});
      if (it != by.end()) std::cout << fmt::format("{} peak RSS {}: {:.1f} MB (median, whole process)\n", w, client, median(it->second));
    }
}

}  // namespace

int main() {
  const Settings s;
  const auto [steal_start, total_start] = steal_and_total();
  try {
    std::cerr << fmt::format("setup: {} rows{}\n", s.rows, s.wants("W7") ? fmt::format(", W7 table {} rows", s.w7) : "");
    load(s.rows, s.w7, s.wants("W7"));
    Runtime io;
    orm::pg::DatabaseConfig config{.name = "default"};
    config.pool.max_size = static_cast<std::size_t>(s.w2_pool);
    orm::pg::register_database(config);

    for (long run = 0; run < s.runs; ++run) {
      const auto ids1 = keys(s.w1, s.rows, 1);
      const auto warm1 = keys(s.w1 / 10, s.rows, 11);
      for (long rep = 0; rep < s.short_repeats && s.wants("W1"); ++rep) {
        raw_w1(warm1);
        report("libpq_raw", "W1", raw_w1(ids1), "queries/s", "prepared_binary");
        run_orm<double>(io, [&] { return orm_w1(warm1); });
        report("matrx_orm", "W1", run_orm<double>(io, [&] { return orm_w1(ids1); }), "queries/s");
      }
      for (long rep = 0; rep < s.short_repeats && s.wants("W2"); ++rep) {
        const auto ids2 = keys(s.w2, s.rows, 2);
        const auto warm2 = keys(s.w2 / 10, s.rows, 12);
        if (s.wants_client("libpq_raw")) {
          raw_w2(warm2, s.w2_pool, s.w2_tasks);
          ClientCpu raw_cpu;
          report("libpq_raw", "W2", raw_w2(ids2, s.w2_pool, s.w2_tasks), "queries/s", "pipeline");
          raw_cpu.record("libpq_raw", ids2.size());
        }
        if (s.wants_client("matrx_orm")) {
          orm_w2(io, warm2, s.w2_tasks);
          ClientCpu orm_cpu;
          report("matrx_orm", "W2", orm_w2(io, ids2, s.w2_tasks), "queries/s");
          orm_cpu.record("matrx_orm", ids2.size());
        }
      }
      if (s.wants("W3")) {
        raw_w3(s.rows);
        PeakRss raw_rss;
        report("libpq_raw", "W3", raw_w3(s.rows), "rows/s", "binary");
        samples.push_back({"libpq_raw", "W3_rss", "MB", "", raw_rss.stop()});
        run_orm<double>(io, [&] { return orm_w3(s.rows); });
        PeakRss orm_rss;
        report("matrx_orm", "W3", run_orm<double>(io, [&] { return orm_w3(s.rows); }), "rows/s");
        samples.push_back({"matrx_orm", "W3_rss", "MB", "", orm_rss.stop()});
      }
      if (s.wants("W4")) {
        const auto rows = new_rows(s.w4, 0);
        const auto warm = new_rows(s.w4 / 10, 0);
        truncate_copy();
        raw_w4(warm);
        truncate_copy();
        report("libpq_raw", "W4", raw_w4(rows), "rows/s", "copy_binary");
        truncate_copy();
        run_orm<double>(io, [&] { return orm_w4(warm); });
        truncate_copy();
        report("matrx_orm", "W4", run_orm<double>(io, [&] { return orm_w4(rows); }), "rows/s", "bulk_create_copy_binary");
        truncate_copy();
      }
      for (long rep = 0; rep < s.short_repeats && s.wants("W5"); ++rep) {
        const auto ids5 = keys(s.w5, s.rows, 5);
        const auto warm5 = keys(s.w5 / 10, s.rows, 15);  // coroutines keep references: no temporaries
        raw_w5(warm5);
        report("libpq_raw", "W5", raw_w5(ids5), "updates/s", "prepared_binary");
        run_orm<double>(io, [&] { return orm_w5(warm5); });
        report("matrx_orm", "W5", run_orm<double>(io, [&] { return orm_w5(ids5); }), "updates/s");
      }
      if (s.wants("W6")) {
        const auto ids6 = keys(s.w6, s.rows, 6);
        const long distinct = std::min(s.rows, 1000L);
        const auto warm6 = keys(s.w6 / 10, s.rows, 16);
        run_orm<double>(io, [&] { return orm_w6(warm6, distinct); });
        report("matrx_orm", "W6", run_orm<double>(io, [&] { return orm_w6(ids6, distinct); }), "gets/s", "cache_hit");
      }
      if (s.wants("W7")) {
        PeakRss raw_rss;
        report("libpq_raw", "W7", raw_w7(s.w7), "rows/s", "cursor_binary");
        samples.push_back({"libpq_raw", "W7_rss", "MB", "", raw_rss.stop()});
        PeakRss orm_rss;
        report("matrx_orm", "W7", run_orm<double>(io, [&] { return orm_w7(s.w7); }), "rows/s", "for_each_chunk");
        samples.push_back({"matrx_orm", "W7_rss", "MB", "", orm_rss.stop()});
      }
    }
    run_orm<int>(io, []() -> asio::awaitable<int> {
      orm::pg::close_all_databases();
      co_return 0;
    });
    summary();
    const auto [steal_end, total_end] = steal_and_total();
    if (total_end > total_start)
      std::cout << fmt::format("host steal: {:.1f}% of this machine's CPU time during the bench\n",
                               100.0 * (steal_end - steal_start) / (total_end - total_start));
    std::cout << "bench OK\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench: " << e.what() << "\n";
    return 1;
  }
}
