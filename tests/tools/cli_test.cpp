// The v6bl executable on bad input: import files, out-of-range flags, config files.
#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/db.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "free_port.h"
#include "v6bl/store/prefix.h"

namespace {

const std::string v6bl_bin = V6BL_EXECUTABLE;

class temp_dir {
  public:
    temp_dir() {
        static int n = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("v6bl-tools-" + std::to_string(getpid()) + "-" + std::to_string(n++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

// Runs a shell command; returns its exit status and puts stdout and stderr in `output`.
int run(const std::string& command, std::string& output) {
    std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return -1;
    output.clear();
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

// DIR/db with one manual listing (2001:db8:1::/64), for the commands that need a store.
std::string one_listing_store(const temp_dir& dir) {
    std::string out;
    write(dir.file("l.txt"), "2001:db8:1::/64\n");
    REQUIRE(run(v6bl_bin + " import --db " + dir.file("db") + " " + dir.file("l.txt"), out) == 0);
    return dir.file("db");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("import refuses an address where the code goes that is no code", "[tools][import]") {
    // A dotted quad that is no code (a typo of one) was taken as the start of the text,
    // under code 10.
    temp_dir dir;
    const std::string db = dir.file("db");
    write(dir.file("codes.txt"),
          "2001:db8:3::/64 172.0.0.2 typo of a code\n"
          "2001:db8:4::/64 127.1.0.2\n"
          "2001:db8:5::/64 127.0.0.5 a code of the operator's\n"
          "2001:db8:6::/64 listed for 192.0.2.1 and friends\n"
          "2001:db8:7::/64 127.0.0.10 192.0.2.1 and friends\n");
    std::string out;
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("codes.txt"), out) == 2);
    INFO(out);
    CHECK(out.find("codes.txt:1: '172.0.0.2' is no reason code") != std::string::npos);
    CHECK(out.find("codes.txt:2: '127.1.0.2' is no reason code") != std::string::npos);
    CHECK(out.find("imported 3 listing(s), 2 bad line(s)") != std::string::npos);
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("2001:db8:3::/64") == std::string::npos);
    CHECK(out.find("2001:db8:5::/64 127.0.0.5") != std::string::npos);
    CHECK(out.find("2001:db8:6::/64 127.0.0.10") != std::string::npos);
    CHECK(out.find("192.0.2.1 and friends\n") != std::string::npos);
}

// "2001:db8::/16" was stored as 2001::/16 without a word: a typo for a /32 or /48 listed a
// registry's whole space. Bits set past a length under /48 are refused, in import and allow
// alike; from /48 on an address with a length is its network (interface notation).
TEST_CASE("import and allow refuse a wide prefix with bits set past its length",
          "[tools][import]") {
    temp_dir dir;
    const std::string db = dir.file("db");
    write(dir.file("l.txt"),
          "2001:db8::/16 127.0.0.10 a typo\n"
          "2001:db8:5::/48 fine\n"
          "2001:db8:6::1 a bare address is its /64\n"
          "2001:db8:8:9::25/64 interface notation: its /64\n"
          "2001:db8:7::/64 " +
              std::string(150, 'x') + "\n");
    std::string out;
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("l.txt"), out) == 2);
    INFO(out);
    CHECK(out.find("l.txt:1: '2001:db8::/16' has bits set past /16 (that network is 2001::/16)") !=
          std::string::npos);
    CHECK(out.find("imported 4 listing(s), 1 bad line(s)") != std::string::npos);
    CHECK(out.find("note: 1 text(s) longer than 100 characters") != std::string::npos);
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("2001::/16") == std::string::npos);
    CHECK(out.find("2001:db8:5::/48") != std::string::npos);
    CHECK(out.find("2001:db8:6::/64") != std::string::npos);
    CHECK(out.find("2001:db8:8:9::/64") != std::string::npos);
    CHECK(run(v6bl_bin + " allow --db " + db + " 2001:db8:1::1/32", out) == 64);
    CHECK(out.find("'2001:db8:1::1/32' has bits set past /32") != std::string::npos);
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("allowlisted") == std::string::npos);
}

// Changes that change nothing commit nothing: no new serial, so serve rebuilds nothing and
// sends no NOTIFY. delist says how many records it removes; allow of an entry already there
// (the same comment) commits nothing either.
TEST_CASE("unallow or delist or allow of nothing commits nothing", "[tools][import]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    auto serial = [&] {
        REQUIRE(run(v6bl_bin + " list --db " + db + " --json", out) == 0);
        return out;
    };
    const std::string before = serial();
    REQUIRE(run(v6bl_bin + " unallow --db " + db + " 2001:db8:9::/64", out) == 0);
    CHECK(out.find("not on the allowlist; nothing committed") != std::string::npos);
    REQUIRE(run(v6bl_bin + " delist --db " + db + " 2001:db8:77::/48", out) == 0);
    CHECK(out.find("no record stored at or under it; nothing committed") != std::string::npos);
    const auto serial_of = [&](const std::string& cmd) {
        std::string o;
        REQUIRE(run(cmd, o) == 0);
        const auto at = o.find("serial ");
        REQUIRE(at != std::string::npos);
        return std::stoul(o.substr(at + 7));
    };
    const unsigned long s0 = serial_of(v6bl_bin + " unallow --db " + db + " 2001:db8:9::/64");
    const unsigned long s1 = serial_of(v6bl_bin + " delist --db " + db + " 2001:db8:1::/48");
    CHECK(s1 == s0 + 1);
    CHECK(serial() != before);  // the listing is gone
    // allow: a new entry commits; the same again does not; another comment does (it is stored).
    const std::string allow = v6bl_bin + " allow --db " + db + " 2001:db8:9::/64 --comment ours";
    const unsigned long s2 = serial_of(allow);
    CHECK(s2 == s1 + 1);
    REQUIRE(run(allow, out) == 0);
    CHECK(out.find("already on the allowlist; nothing committed, serial " + std::to_string(s2)) !=
          std::string::npos);
    CHECK(serial_of(v6bl_bin + " allow --db " + db + " 2001:db8:9::/64 --comment theirs") ==
          s2 + 1);
}

TEST_CASE("import reads CRLF and a byte order mark, reports a directory, keeps the store",
          "[tools][import]") {
    temp_dir dir;
    const std::string db = dir.file("db");
    write(dir.file("windows.txt"),
          "\xEF\xBB\xBF"
          "2001:db8:1::/64\r\n2001:db8:2::/64 127.0.0.5\r\n2001:db8:3::/64 127.0.0.10 by hand\r\n"
          "# comment\r\n\r\n");
    std::string out;
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("windows.txt"), out) == 0);
    INFO(out);
    CHECK(out.find("imported 3 listing(s), 0 bad line(s)") != std::string::npos);

    // Reading /proc/self/mem from offset 0 fails (EIO): no silent "0 listings".
    CHECK(run(v6bl_bin + " import --db " + db + " /proc/self/mem", out) == 2);
    CHECK(out.find("/proc/self/mem:1: cannot read further") != std::string::npos);

    // A line far longer than any listing is reported and skipped to its newline, without
    // holding it whole; the lines around it are imported.
    write(dir.file("long.txt"),
          "2001:db8:7::/64\n" + std::string(100000, 'x') + "\n2001:db8:8::/64\n");
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("long.txt"), out) == 2);
    CHECK(out.find("long.txt:2: line too long (over 65536 bytes)") != std::string::npos);
    CHECK(out.find("imported 2 listing(s), 1 bad line(s)") != std::string::npos);

    std::filesystem::create_directories(dir.file("adir"));
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("adir"), out) == 2);
    CHECK(out.find(dir.file("adir") + ": is a directory") != std::string::npos);

    // The text ends where the line's last non-space does: a trailing tab is no part of it.
    write(dir.file("tab.txt"), "2001:db8:5::/64\t127.0.0.10\tby tab\t\n");
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("tab.txt"), out) == 0);

    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("2001:db8:1::/64 127.0.0.10") != std::string::npos);
    CHECK(out.find("2001:db8:2::/64 127.0.0.5") != std::string::npos);
    CHECK(out.find("by hand\n") != std::string::npos);
    CHECK(out.find("by tab\n") != std::string::npos);

    // A text that is not UTF-8 is stored as given; the JSON view still shows the record.
    write(dir.file("latin1.txt"),
          "2001:db8:4::/64 127.0.0.10 gepr\xFC"
          "ft\n");
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("latin1.txt"), out) == 0);
    CHECK(run(v6bl_bin + " lookup --db " + db + " --json 2001:db8:4::1", out) == 0);
    CHECK(out.find("\"listed\": true") != std::string::npos);

    // A NUL or another control byte in the text is refused with its line; the rest is
    // imported (a NUL was stored into the TXT).
    write(dir.file("nul.txt"), std::string("2001:db8:a::/64 127.0.0.10 bad\0text\n", 36) +
                                   "2001:db8:b::/64 127.0.0.10 escape \x1b[31m\n" +
                                   "2001:db8:c::/64 127.0.0.10 fine\n");
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("nul.txt"), out) == 2);
    CHECK(out.find("nul.txt:1: the text holds a control byte (0x00, text byte 4)") !=
          std::string::npos);
    CHECK(out.find("nul.txt:2: the text holds a control byte (0x1b") != std::string::npos);
    CHECK(out.find("imported 1 listing(s), 2 bad line(s)") != std::string::npos);
    CHECK(run(v6bl_bin + " lookup --db " + db + " 2001:db8:a::1", out) == 1);
    // A NUL in the prefix: refused, and shown (inet_pton read up to it, and the message
    // stopped there).
    write(dir.file("nulprefix.txt"), std::string("2001:db8:20::\0junk/48 127.0.0.10 x\n", 35));
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("nulprefix.txt"), out) == 2);
    CHECK(out.find("nulprefix.txt:1: '2001:db8:20::\\x00junk/48' is not an IPv6 prefix") !=
          std::string::npos);
    // A comment's escape sequence is shown, not sent to the terminal.
    REQUIRE(run(v6bl_bin + " allow --db " + db +
                    " 2001:db8:77::/48 --comment \"$(printf '\\033[31mred')\"",
                out) == 0);
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("!2001:db8:77::/48 allowlisted ") != std::string::npos);
    CHECK(out.find("\\x1b[31mred") != std::string::npos);
    CHECK(out.find("\x1b") == std::string::npos);
    REQUIRE(run(v6bl_bin + " unallow --db " + db + " 2001:db8:77::/48", out) == 0);
    // `import -` with standard input closed reads nothing (it read RocksDB's LOG, opened
    // on descriptor 0).
    CHECK(run(v6bl_bin + " import --db " + db + " - <&-", out) == 0);
    CHECK(out.find("imported 0 listing(s), 0 bad line(s)") != std::string::npos);

    // list --json: JSON lines for records and allowlisted prefixes alike, with or without
    // --published (without, it printed text; with, the allowlist lines were text)
    REQUIRE(run(v6bl_bin + " allow --db " + db + " 2001:db8:9::/48 --comment ok", out) == 0);
    for (const std::string flags : {" --json", " --published --json"}) {
        INFO(flags);
        REQUIRE(run(v6bl_bin + " list --db " + db + flags, out) == 0);
        std::istringstream lines(out);
        int records = 0, allowed = 0;
        for (std::string l; std::getline(lines, l);) {
            const auto j = nlohmann::json::parse(l);  // throws on a line that is not JSON
            if (j.contains("allowlisted")) ++allowed;
            if (j.contains("prefix") && j["prefix"] == "2001:db8:1::/64") {
                ++records;
                CHECK(j["code"] == 10);
            }
        }
        CHECK(records == 1);
        CHECK(allowed == 1);
    }
}

TEST_CASE("import refuses what would list ::ffff:127.0.0.1 (RFC 5782) and keeps the rest",
          "[tools][import]") {
    temp_dir dir;
    const std::string db = dir.file("db");
    write(dir.file("l.txt"),
          "2001:db8:5::/64\n::ffff:1.2.3.4\n::/0 127.0.0.3\n::1\n::ffff:127.0.0.2/128 "
          "127.0.0.7\n");
    std::string out;
    CHECK(run(v6bl_bin + " import --db " + db + " " + dir.file("l.txt"), out) == 2);
    INFO(out);
    CHECK(out.find("imported 1 listing(s), 4 bad line(s)") != std::string::npos);
    // The IPv6 test point keeps RFC 5782's code: it was answered with the imported one.
    CHECK(out.find("l.txt:5: '::ffff:127.0.0.2/128' is the RFC 5782 test point") !=
          std::string::npos);
    CHECK(out.find("l.txt:2: '::ffff:1.2.3.4' (::/64) covers ::ffff:127.0.0.1, which RFC 5782 "
                   "says is never listed") != std::string::npos);
    CHECK(out.find("l.txt:3: '::/0' (::/0) covers") != std::string::npos);
    CHECK(out.find("l.txt:4: '::1' (::/64) covers") != std::string::npos);
    REQUIRE(run(v6bl_bin + " lookup --db " + db + " 2001:db8:5::1", out) == 0);
    CHECK(out.find("listed") != std::string::npos);
}

TEST_CASE("a command line that cannot be used exits 64; lookup exits 2 on a store error",
          "[tools][flags]") {
    temp_dir dir;
    std::string out;
    CHECK(run(v6bl_bin + " ingest --db " + dir.file("db") + " --bogus", out) == 64);
    CHECK(out.find("--bogus") != std::string::npos);
    CHECK(run(v6bl_bin + " ingest --db", out) == 64);
    // An empty name ("--interface ''") was "nothing to ingest", or ": cannot open".
    for (const char* flag : {"--interface", "--capture", "--rejects", "--associations"}) {
        CHECK(run(v6bl_bin + " ingest --db " + dir.file("db") + " " + flag + " ''", out) == 64);
        CHECK(out.find(std::string(flag) + ": an empty value names nothing") != std::string::npos);
    }
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --seed abc", out) == 64);
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --seed -1", out) == 64);
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --seed 18446744073709551616",
              out) == 64);
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --start -5", out) == 64);
    CHECK(out.find("--start") != std::string::npos);
    // Values out of range found past the parser are usage errors too (they exited 1).
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --hours 0", out) == 64);
    CHECK(out.find("hours must be > 0") != std::string::npos);
    CHECK(run(v6bl_bin + " notify --serial 5 --notify 127.0.0.1:99999", out) == 64);
    CHECK(out.find("bad target '127.0.0.1:99999'") != std::string::npos);
    CHECK(run(v6bl_bin + " notify --serial 5 --notify 127.0.0.1:5300 --tsig garbage", out) == 64);
    CHECK(run(v6bl_bin + " notify --serial 5 --zone bad..zone --notify 127.0.0.1:5300", out) == 64);
    // Neither a store nor a serial: no "serial 0" NOTIFY.
    CHECK(run(v6bl_bin + " notify --notify 127.0.0.1:5300", out) == 64);
    CHECK(out.find("--db DIR") != std::string::npos);
    // Both: which serial would be announced is not guessed (--serial was ignored).
    CHECK(run(v6bl_bin + " notify --db " + dir.file("typo") + " --serial 5 --notify 127.0.0.1:5300",
              out) == 64);
    // (CLI11 names the pair in either order: it keeps the exclusions in a set of pointers)
    CHECK((out.find("--serial excludes --db") != std::string::npos ||
           out.find("--db excludes --serial") != std::string::npos));
    CHECK(run(v6bl_bin + " serve --db " + dir.file("typo") + " --user no-such-user-v6bl", out) ==
          64);
    CHECK(out.find("no such user") != std::string::npos);
    CHECK(run(v6bl_bin + " ingest --help", out) == 0);
    // 1 is "not listed": a store that does not exist is no answer
    CHECK(run(v6bl_bin + " lookup --db " + dir.file("nostore") + " 2001:db8::1", out) == 2);
    CHECK(out.find("does not exist") != std::string::npos);
    std::filesystem::create_directory(dir.file("empty"));
    CHECK(run(v6bl_bin + " lookup --db " + dir.file("empty") + " 2001:db8::1", out) == 2);
    CHECK(out.find("is an empty directory, no store") != std::string::npos);
    // Only import creates a store: a mistyped path is an error, not a new empty store.
    for (const std::string cmd : {"delist", "allow", "unallow"}) {
        INFO(cmd);
        CHECK(run(v6bl_bin + " " + cmd + " --db " + dir.file("typo") + " 2001:db8:1::/48", out) !=
              0);
        CHECK(out.find("does not exist") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.file("typo")));
    }
    CHECK(run(v6bl_bin + " compact --db " + dir.file("typo"), out) != 0);
    CHECK_FALSE(std::filesystem::exists(dir.file("typo")));
    // A prefix that is none is a value the command cannot use: 64, as documented.
    for (const std::string cmd : {"delist", "allow", "unallow"}) {
        INFO(cmd);
        CHECK(run(v6bl_bin + " " + cmd + " --db " + dir.file("typo") + " 2001:db8::/x", out) == 64);
        CHECK(out.find("'2001:db8::/x' is not an IPv6 prefix") != std::string::npos);
    }
}

TEST_CASE("numbers out of range are refused by flag name", "[tools][flags]") {
    temp_dir dir;
    std::string out;
    const std::string ingest =
        v6bl_bin + " ingest --db " + dir.file("db") + " --rejects /dev/null ";
    CHECK(run(ingest + "--year -2147483648", out) != 0);
    CHECK(out.find("--year") != std::string::npos);
    CHECK(run(ingest + "--sensor-id 64", out) != 0);
    CHECK(out.find("--sensor-id") != std::string::npos);
    CHECK(run(ingest + "--min-emit 5000", out) != 0);
    CHECK(out.find("--min-emit") != std::string::npos);
    CHECK(run(v6bl_bin + " list --db " + dir.file("db") + " --now 99999999999", out) != 0);
    CHECK(out.find("--now") != std::string::npos);
    CHECK(run(v6bl_bin + " simulate --out " + dir.file("sim") + " --hours nan", out) == 64);
    CHECK(out.find("hours") != std::string::npos);
    CHECK(run(ingest + "--commit-every -1", out) != 0);
    CHECK(out.find("--commit-every: Value -1 not in range") != std::string::npos);
    CHECK(run(ingest + "--max-book-64s -1", out) != 0);
    CHECK(out.find("--max-book-64s") != std::string::npos);
    CHECK(run(ingest + "--max-book-64s 4294967297", out) != 0);
    CHECK(out.find("--max-book-64s") != std::string::npos);
    CHECK(run(ingest + "--max-histories -1", out) != 0);
    CHECK(out.find("--max-histories") != std::string::npos);
    CHECK(run(ingest + "--max-histories 4294967297", out) != 0);
    CHECK(out.find("--max-histories") != std::string::npos);
    // TTLs and SOA timers stop at 2^31-1 (RFC 2181 8), in export and serve alike.
    for (const std::string cmd : {" export --db ", " serve --db "}) {
        CHECK(run("timeout 20 " + v6bl_bin + cmd + dir.file("db") + " --ttl 4294967295", out) ==
              64);
        CHECK(out.find("--ttl: Value 4294967295 not in range 0 to 2147483647") !=
              std::string::npos);
        CHECK(run("timeout 20 " + v6bl_bin + cmd + dir.file("db") + " --soa-minimum -1", out) ==
              64);
    }
    const std::string notify =
        v6bl_bin + " notify --db " + dir.file("db") + " --notify 127.0.0.1:1 ";
    CHECK(run(notify + "--attempts -5", out) != 0);
    CHECK(out.find("--attempts: Value -5 not in range") != std::string::npos);
    CHECK(run(notify + "--timeout-ms -1", out) != 0);
    CHECK(out.find("--timeout-ms: Value -1 not in range") != std::string::npos);
}

TEST_CASE("ingest refuses a time zone the C library would silently take as UTC", "[tools][flags]") {
    temp_dir dir;
    std::string out;
    const std::string ingest =
        v6bl_bin + " ingest --db " + dir.file("db") + " --rejects /dev/null ";
    CHECK(run(ingest + "--log-timezone Mars/Olympus_Mons", out) == 64);
    CHECK(out.find("--log-timezone") != std::string::npos);
    CHECK(out.find("Mars/Olympus_Mons") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("db")));  // refused before the store opens
    CHECK(run(ingest + "--log-timezone Europe/Berlin --quiet", out) == 0);
    CHECK(run(ingest + "--log-timezone UTC --quiet", out) == 0);
    // The default, local, takes TZ: a misspelt zone there is refused as well, and so is a
    // leap-second zone, whose clock is 27 s off syslog's.
    CHECK(run("TZ=Europe/Berln " + ingest + "--quiet", out) == 64);
    CHECK(out.find("TZ='Europe/Berln'") != std::string::npos);
    CHECK(run(ingest + "--log-timezone right/UTC --quiet", out) == 64);
    CHECK(out.find("leap-second") != std::string::npos);
    CHECK(run("TZ=Europe/Berlin " + ingest + "--quiet", out) == 0);
}

TEST_CASE("ingest reports a log it cannot open, and --strict fails on it", "[tools][ingest]") {
    // Files that are there but do not open were skipped without a word (a mail log of mode
    // 0640 read by another user; --follow out of descriptors). As root, the descriptors.
    temp_dir dir;
    std::string logs;
    for (int i = 0; i < 80; ++i) {
        const std::string f = dir.file("m" + std::to_string(i) + ".log");
        write(f, "");
        logs += " --rejects " + f;
    }
    std::string out;
    const int rc = run("ulimit -n 48 && timeout --preserve-status -s TERM 5 " + v6bl_bin +
                           " ingest --db " + dir.file("db") + " --follow --strict --quiet" + logs,
                       out);
    CHECK(rc == 2);
    CHECK(out.find(".log: cannot open: Too many open files") != std::string::npos);
    // once per file while the error lasts, not once per poll
    std::size_t reports = 0;
    for (auto at = out.find("cannot open"); at != std::string::npos;
         at = out.find("cannot open", at + 1))
        ++reports;
    CHECK(reports > 0);
    CHECK(reports <= 80);
}

TEST_CASE("ingest counts the operator's own DNSBL reject texts and postscreen threshold",
          "[tools][flags]") {
    temp_dir dir;
    const std::string log = dir.file("maillog");
    write(log,
          "2026-11-24T10:00:00Z mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from "
          "unknown[1.2.3.4]: 554 5.7.1 Rejected: 1.2.3.4 appears on our spam list; from=<a@b> "
          "to=<c@d> proto=ESMTP helo=<x>\n"
          "2026-11-24T10:00:01Z mx1 postfix/postscreen[2]: DNSBL rank 2 for [5.6.7.8]:4321\n");
    std::string out;
    auto ingest = [&](const std::string& db, const std::string& flags) {
        return run(v6bl_bin + " ingest --db " + dir.file(db) + " --rejects " + log + " " + flags,
                   out);
    };
    REQUIRE(ingest("a", "") == 0);
    CHECK(out.find("2 log lines, 1 DNSBL rejections") != std::string::npos);
    CHECK(out.find("1 other rejects ignored") != std::string::npos);
    REQUIRE(ingest("b", "--dnsbl-text 'appears on our spam list' --postscreen-threshold 3") == 0);
    CHECK(out.find("2 log lines, 1 DNSBL rejections (postfix-smtpd 1, postfix-postscreen 0") !=
          std::string::npos);
    CHECK(ingest("c", "--postscreen-threshold 0") != 0);
    CHECK(out.find("--postscreen-threshold") != std::string::npos);
}

TEST_CASE("a config file with an unknown key or junk is an error naming the file",
          "[tools][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    const std::string lookup = " lookup --db " + db + " 2001:db8:1::1";

    // A subcommand's section applies (and is checked like the flag).
    write(dir.file("section.toml"), "[lookup]\nmin-strength = 2000\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("section.toml") + lookup, out) != 0);
    CHECK(out.find("--min-strength") != std::string::npos);

    for (const std::string& bad :
         {std::string("[lookup]\nmin-strenght = 700\n"), std::string("min-strength = 700\n"),
          std::string("\x01\x02\xff junk \x7f\n")}) {
        write(dir.file("bad.toml"), bad);
        INFO(bad);
        CHECK(run(v6bl_bin + " --config " + dir.file("bad.toml") + lookup, out) != 0);
        CHECK(out.find(dir.file("bad.toml")) != std::string::npos);
    }
    // What is wrong, and where: an unknown key of a section, a misspelt section, a key
    // outside any section.
    write(dir.file("key.toml"), "[lookup]\n\nmin-strenght = 700\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("key.toml") + lookup, out) == 64);
    CHECK(out.find(dir.file("key.toml") +
                   ":3: unknown key 'min-strenght' in [lookup]: `v6bl lookup` has no flag "
                   "--min-strenght") != std::string::npos);
    // Several keys outside any section: the first in the file is named, not the one CLI11's
    // map gave first.
    write(dir.file("tops.toml"), "# lookup\nzone = \"a\"\nmin-strength = 700\ndb = \"x\"\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("tops.toml") + lookup, out) == 64);
    CHECK(out.find(dir.file("tops.toml") + ":2: key 'zone' outside any section (and 2 more)") !=
          std::string::npos);
    write(dir.file("section2.toml"), "[lokup]\nmin-strength = 700\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("section2.toml") + lookup, out) == 64);
    CHECK(out.find(dir.file("section2.toml") + ":1: unknown section [lokup]") != std::string::npos);
    write(dir.file("top.toml"), "# lookup\nmin-strength = 700\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("top.toml") + lookup, out) == 64);
    CHECK(out.find(dir.file("top.toml") + ":2: key 'min-strength' outside any section") !=
          std::string::npos);
    CHECK(out.find("only `v6bl serve --config FILE` takes them without one") != std::string::npos);

    // serve with a misspelt key, or sections (also one named like a flag), stops at once
    // instead of serving with the defaults.
    const std::string port = std::to_string(v6bl::test::free_port());
    for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
             {"ttl = 300\nrrl_rate = 20\n",
              ":2: unknown key 'rrl_rate': `v6bl serve` has no flag --rrl_rate"},
             {"ttl = 300\n[serve]\nrrl-rate = 20\n",
              ":2: section [serve]: `v6bl serve` takes the flags as keys"},
             {"[zone]\nttl = 300\n", ":1: section [zone]: `v6bl serve` takes the flags as keys"}}) {
        write(dir.file("serve.toml"), text);
        INFO(text);
        CHECK(run("timeout 20 " + v6bl_bin + " serve --db " + db + " --config " +
                      dir.file("serve.toml") + " --listen 127.0.0.1:" + port,
                  out) == 64);
        CHECK(out.find(dir.file("serve.toml") + want) != std::string::npos);
    }
}

TEST_CASE("simulate says which file it cannot write, and never overwrites files not its own",
          "[tools][simulate]") {
    temp_dir dir;
    std::string out;
    const std::string small = " --hours 0.02 --rate 2 --hosts 20 --start 1700000000";
    // A file named like the testbed's in a directory that is no testbed is left alone.
    for (const char* name : {"sensor.pcap", "maillog", "truth.json"}) {
        const std::string sim = dir.file(std::string("other-") + name);
        std::filesystem::create_directories(sim);
        std::filesystem::create_symlink("/dev/full", sim + "/" + name);
        INFO(name);
        CHECK(run(v6bl_bin + " simulate --out " + sim + small, out) == 64);
        CHECK(out.find("not overwritten") != std::string::npos);
    }
    // A full disk (/dev/full) under a testbed's file: it aborted with an uncaught exception
    // thrown by a destructor; now an error naming the file.
    const std::string sim = dir.file("sim");
    REQUIRE(run(v6bl_bin + " simulate --out " + sim + small, out) == 0);
    REQUIRE(run(v6bl_bin + " simulate --out " + sim + small, out) == 0);  // its own: rewritten
    for (const char* name : {"sensor.pcap", "maillog"}) {
        std::filesystem::remove(sim + "/" + name);
        std::filesystem::create_symlink("/dev/full", sim + "/" + name);
        INFO(name);
        CHECK(run(v6bl_bin + " simulate --out " + sim + small, out) == 1);
        INFO(out);
        CHECK(out.find("cannot write " + sim + "/" + name + ": No space left on device") !=
              std::string::npos);
        CHECK(out.find("terminate") == std::string::npos);
        std::filesystem::remove(sim + "/" + name);
    }
    // A real maillog in the directory is left as it was.
    const std::string var = dir.file("var");
    std::filesystem::create_directories(var);
    write(var + "/maillog", "precious\n");
    CHECK(run(v6bl_bin + " simulate --out " + var + small, out) == 64);
    CHECK(out.find(var + " holds sensor.pcap, maillog or truth.json but no testbed's truth.json") !=
          std::string::npos);
    CHECK(read_file(var + "/maillog") == "precious\n");
}

TEST_CASE("export --out and ingest --associations-out refuse a file inside the store",
          "[tools][export]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    // `--out DB/CURRENT` replaced RocksDB's CURRENT file: the store no longer opened.
    for (const std::string& inside : {db + "/CURRENT", db + "/../db/zone.txt"}) {
        INFO(inside);
        CHECK(run(v6bl_bin + " export --db " + db + " --out " + inside, out) == 64);
        CHECK(out.find("--out " + inside + " is inside the store directory " + db) !=
              std::string::npos);
        CHECK(run(v6bl_bin + " ingest --db " + db + " --associations " + dir.file("none.jsonl") +
                      " --associations-out " + inside,
                  out) == 64);
        CHECK(out.find("--associations-out " + inside + " is inside the store directory") !=
              std::string::npos);
    }
    CHECK(run(v6bl_bin + " lookup --db " + db + " 2001:db8:1::1", out) == 0);
    // Beside the store, or to stdout: written.
    CHECK(run(v6bl_bin + " export --db " + db + " --out " + dir.file("db.zone"), out) == 0);
    CHECK(run(v6bl_bin + " export --db " + db + " --out -", out) == 0);
}

TEST_CASE("config values reach the flags as TOML reads them, not as an INI line reader cuts them",
          "[tools][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    // CLI11's own reader cut the template at '#', kept the escape and the triple quotes, could
    // not read an array over several lines or a file starting with a BOM, and refused 1_000.
    write(dir.file("export.toml"),
          "\xEF\xBB\xBF[export]\ndb = \"" + db +
              "\"\nurl-template = \"https://dnsbl.example/lookup#{prefix}\\u0021\"\n"
              "zone = \"\"\"mine.example\"\"\"\nns = [\n  \"ns1.mine.example\",\n  "
              "\"ns2.mine.example\",\n]\nttl = 1_000\n");
    REQUIRE(run(v6bl_bin + " --config " + dir.file("export.toml") + " export", out) == 0);
    INFO(out);
    CHECK(out.find("listed by operator; https://dnsbl.example/lookup#2001:db8:1::/64!\"") !=
          std::string::npos);
    CHECK(out.find("mine.example.\t3600\tIN\tNS\tns2.mine.example.") != std::string::npos);
    CHECK(out.find("mine.example.\t1000\tIN\tTXT") != std::string::npos);
    // An inline table is a section too.
    write(dir.file("inline.toml"), "export = { db = \"" + db + "\", zone = \"inline.example\" }\n");
    REQUIRE(run(v6bl_bin + " --config " + dir.file("inline.toml") + " export", out) == 0);
    CHECK(out.find("inline.example.\t300\tIN\tSOA") != std::string::npos);
}

TEST_CASE("a config file nested thousands deep is refused with its line, not a stack overflow",
          "[tools][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    // 5,000 arrays (10 KB) crashed toml11's recursive parser; inline tables the same.
    for (const auto& [open, close] :
         std::vector<std::pair<std::string, std::string>>{{"[", "]"}, {"{a=", "}"}}) {
        std::string deep = "[list]\n# not [[[ in a comment\nx = \"[[[ nor in a string\"\ny = ";
        for (int i = 0; i < 5000; ++i) deep += open;
        for (int i = 0; i < 5000; ++i) deep += close;
        write(dir.file("deep.toml"), deep + "\n");
        CHECK(run(v6bl_bin + " --config " + dir.file("deep.toml") + " list --db " + db, out) == 64);
        INFO(out);
        CHECK(out.find(dir.file("deep.toml") +
                       ":4: arrays or inline tables nested more than 32 deep") !=
              std::string::npos);
    }
    // Brackets in strings and comments, and a few levels of real nesting, are fine.
    write(dir.file("ok.toml"),
          "[lookup]\n# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\nmin-strength = 600\n");
    CHECK(
        run(v6bl_bin + " --config " + dir.file("ok.toml") + " lookup --db " + db + " 2001:db8:1::1",
            out) != 64);
}

TEST_CASE(
    "a config file that is not TOML, or holds a value of the wrong kind, is an error "
    "naming its line",
    "[tools][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    const std::string port = std::to_string(v6bl::test::free_port());
    const std::string serve = "timeout 20 " + v6bl_bin + " serve --db " + db +
                              " --listen 127.0.0.1:" + port + " --config ";

    // A truncated array: CLI11 alone took the next lines into it and served with the rest.
    write(dir.file("cut.toml"), "ttl = 300\nlisten = [\"127.0.0.1:" + port + "\"\nrrl-rate = 5\n");
    CHECK(run(serve + dir.file("cut.toml"), out) == 64);
    INFO(out);
    CHECK(out.find(dir.file("cut.toml") + ":3:1: ") != std::string::npos);
    CHECK(out.find("ready") == std::string::npos);

    write(dir.file("kind.toml"), "ttl = 300\nrrl-rate = \"abc\"\n");
    CHECK(run(serve + dir.file("kind.toml"), out) == 64);
    CHECK(out.find(dir.file("kind.toml") + ":2: Could not convert: --rrl-rate = abc") !=
          std::string::npos);
    // The same bad value on the command line is not put on the file.
    write(dir.file("good.toml"), "rrl-rate = 5\n");
    CHECK(run(serve + dir.file("good.toml") + " --rrl-rate abc", out) != 0);
    CHECK(out.find(dir.file("good.toml") + ":") == std::string::npos);

    // CLI11 took any value as text: `quiet = 3` was true, `capture = 3` a file named 3.
    const std::string ingest = v6bl_bin + " ingest --db " + dir.file("kdb") + " --config ";
    for (const auto& [text, want] : std::vector<std::pair<std::string, std::string>>{
             {"[ingest]\n\nquiet = 3\n",
              ":3: 'quiet' in [ingest] is a switch: true or false, "
              "not a number"},
             {"[ingest]\ncapture = 3\n",
              ":2: 'capture' in [ingest] takes text: write it in "
              "quotes, not as a number"},
             {"[ingest]\nrejects = [\"a.log\", 7]\n",
              ":2: 'rejects' in [ingest] takes text: write it in quotes, not as a number in the "
              "array"},
             {"[ingest]\nquiet = true\ncommit-every = true\n",
              ":3: 'commit-every' in [ingest] takes a number, not a boolean"}}) {
        write(dir.file("wrong.toml"), text);
        INFO(text);
        CHECK(run(ingest + dir.file("wrong.toml"), out) == 64);
        CHECK(out.find(dir.file("wrong.toml") + want) != std::string::npos);
    }
    write(dir.file("kind2.toml"), "ttl = 300\nlisten = 53\n");
    CHECK(run(serve + dir.file("kind2.toml"), out) == 64);
    CHECK(out.find(dir.file("kind2.toml") + ":2: 'listen' takes text") != std::string::npos);
    CHECK(out.find("ready") == std::string::npos);

    write(dir.file("lookup.toml"), "[lookup]\n\nnow = \"x\"\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("lookup.toml") + " lookup --db " + db +
                  " 2001:db8:1::1",
              out) != 0);
    CHECK(out.find(dir.file("lookup.toml") + ":3: --now") != std::string::npos);
    // --config after the subcommand reads the same section
    CHECK(run(v6bl_bin + " lookup --config " + dir.file("lookup.toml") + " --db " + db +
                  " 2001:db8:1::1",
              out) != 0);
    CHECK(out.find(dir.file("lookup.toml") + ":3: --now") != std::string::npos);
    write(dir.file("ingest.toml"), "[ingest]\ndb = \"" + dir.file("idb") + "\"\nquiet = true\n");
    write(dir.file("empty.log"), "");
    CHECK(run(v6bl_bin + " ingest --config " + dir.file("ingest.toml") + " --rejects " +
                  dir.file("empty.log"),
              out) == 0);
    CHECK(std::filesystem::exists(dir.file("idb") + "/CURRENT"));

    // Not TOML, or missing: 64 for ingest as for serve.
    write(dir.file("syntax.toml"), "[ingest]\ndb = \"" + dir.file("x"));
    CHECK(run(ingest + dir.file("syntax.toml"), out) == 64);
    CHECK(out.find(dir.file("syntax.toml") + ":2:") != std::string::npos);
    CHECK(run(ingest + dir.file("missing.toml"), out) == 64);
    // A value CLI11 refuses without quoting it is still put on its line, in [section] and
    // in [[section]] alike; given on the command line instead, it is not the file's.
    write(dir.file("none.toml"), "[ingest]\n\nrejects = []\n");
    CHECK(run(ingest + dir.file("none.toml"), out) == 64);
    CHECK(out.find(dir.file("none.toml") + ":3: --rejects") != std::string::npos);
    write(dir.file("array.toml"), "[[ingest]]\nsensor-id = 99\n");
    CHECK(run(ingest + dir.file("array.toml"), out) == 64);
    CHECK(out.find(dir.file("array.toml") + ":2: --sensor-id") != std::string::npos);
    // [[ingest]] twice: the second set of flags was dropped without a word (CLI11 fills a
    // flag once); an unknown key in [[ingest]] was named without its line.
    write(dir.file("twice.toml"),
          "[[ingest]]\ndb = \"" + dir.file("x") + "\"\n[[ingest]]\nassociations = [\"h.jsonl\"]\n");
    CHECK(run(ingest + dir.file("twice.toml"), out) == 64);
    CHECK(out.find(dir.file("twice.toml") + ":3: [[ingest]] a second time") != std::string::npos);
    write(dir.file("unknown.toml"), "[[ingest]]\ndb = \"" + dir.file("x") + "\"\n\nbogus = 1\n");
    CHECK(run(ingest + dir.file("unknown.toml"), out) == 64);
    CHECK(out.find(dir.file("unknown.toml") + ":4: unknown key 'bogus' in [ingest]") !=
          std::string::npos);
    // A flag missing everywhere is not put on another section's key of that name.
    write(dir.file("other.toml"), "[ingest]\ndb = \"" + dir.file("x") + "\"\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("other.toml") + " import " + dir.file("none.toml"),
              out) == 64);
    CHECK(out.find("--db is required") != std::string::npos);
    CHECK(out.find(dir.file("other.toml") + ":2:") == std::string::npos);
    write(dir.file("fine.toml"), "[ingest]\nquiet = true\n");
    CHECK(run(ingest + dir.file("fine.toml") + " --sensor-id 99", out) == 64);
    CHECK(out.find(dir.file("fine.toml") + ":") == std::string::npos);

    // Not a file to read as a config at all (it read /dev/zero forever).
    CHECK(run(serve + "/dev/zero", out) == 64);
    CHECK(out.find("/dev/zero: not a regular file") != std::string::npos);
}

TEST_CASE("serve refuses a zero that would stall it, and an unknown log level", "[tools][serve]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    const std::string serve = "timeout 20 " + v6bl_bin + " serve --db " + db +
                              " --listen 127.0.0.1:" + std::to_string(v6bl::test::free_port()) +
                              " ";
    for (const std::string flag : {"--refresh-ms", "--tcp-idle-ms", "--tcp-max-connections",
                                   "--tcp-max-inflight", "--tcp-read-timeout-ms"}) {
        CHECK(run(serve + flag + " 0", out) != 124);
        CHECK(out.find(flag) != std::string::npos);
    }
    CHECK(run(serve + "--log-level bogus", out) != 124);
    CHECK(out.find("--log-level") != std::string::npos);
    // A value serve cannot use is a usage error (64), as a flag CLI11 refuses is; found
    // before anything is opened, also for transfer and NOTIFY settings.
    for (const auto& [flags, want] : std::vector<std::pair<std::string, std::string>>{
             {"--zone 'a;b.example'", "--zone 'a;b.example'"},
             {"--listen garbage", "bad listen address 'garbage'"},
             {"--listen 127.0.0.1:99999", "bad listen address '127.0.0.1:99999'"},
             {"--allow-query garbage", "--allow-query 'garbage'"},
             {"--ns-address garbage", "NS address 'garbage'"},
             {"--ns ''", "--ns '': the name is empty"},
             {"--soa-rname '@example.org'", "--soa-rname '@example.org'"},
             {"--transfer-tsig garbage", "bad TSIG key"},
             {"--transfer-allow 300.1.1.1/32", "bad source prefix '300.1.1.1/32'"},
             {"--transfer-require-tsig", "TSIG required but no key"},
             {"--notify 'bad target'", "bad target 'bad target'"},
             {"--notify 127.0.0.1:53 --notify-tsig x", "bad TSIG key 'x'"},
             {"--metrics '[::1]:9353'", "IPv6 is not available"},
             {"--metrics abc", "want an IPv4 ADDR:PORT"}}) {
        INFO(flags);
        CHECK(run(serve + flags, out) == 64);
        CHECK(out.find(want) != std::string::npos);
        CHECK(out.find("listening on") == std::string::npos);
    }

    // Found before the store is opened: the same exit whatever else is wrong or configured.
    CHECK(run("timeout 20 " + v6bl_bin + " serve --db " + dir.file("nostore") +
                  " --transfer-allow 127.0.0.1 --listen bogus",
              out) == 64);
    CHECK(out.find("bad listen address 'bogus'") != std::string::npos);
    CHECK(run("timeout 20 " + v6bl_bin + " serve --db " + dir.file("nostore") +
                  " --listen 127.0.0.1:" + std::to_string(v6bl::test::free_port()) +
                  " --ns-address ns1.dnsbl6.example.org=bogus",
              out) == 64);
    CHECK(out.find("NS address") != std::string::npos);

    // A start-up that fails after the transfer reader's scratch directory was made removes it.
    std::filesystem::create_directories(dir.file("tmp"));
    // (The store is opened after the directory is made: a store that is not there.)
    CHECK(run("TMPDIR=" + dir.file("tmp") + " timeout 20 " + v6bl_bin + " serve --db " +
                  dir.file("nostore") + " --listen 127.0.0.1:" +
                  std::to_string(v6bl::test::free_port()) + " --transfer-allow 127.0.0.1/32",
              out) == 1);
    CHECK(out.find("does not exist") != std::string::npos);
    CHECK(std::filesystem::is_empty(dir.file("tmp")));
}

TEST_CASE("serve --config takes db from the file, as its docs say", "[tools][serve][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    const std::string port = std::to_string(v6bl::test::free_port());
    write(dir.file("serve.toml"), "db = \"" + db + "\"\nlisten = [\"127.0.0.1:" + port + "\"]\n");
    // Nowhere at all: still required, and a usage error.
    write(dir.file("nodb.toml"), "listen = [\"127.0.0.1:" + port + "\"]\n");
    CHECK(run("timeout 20 " + v6bl_bin + " serve --config " + dir.file("nodb.toml"), out) == 64);
    CHECK(out.find("--db is required") != std::string::npos);

    // In the file only: serve starts (waited for by its "ready" line, however loaded the
    // machine), and stops on SIGINT.
    const std::string log = dir.file("first.log");
    const std::string pid = dir.file("first.pid");
    REQUIRE(run("(timeout -s INT 60 " + v6bl_bin + " serve --config " + dir.file("serve.toml") +
                    " >" + log + " 2>&1 & echo $! >" + pid +
                    "); for i in $(seq 300); do grep -qx ready " + log +
                    " && exit 0; sleep 0.1; done; exit 1",
                out) == 0);
    CHECK(read_file(log).find("--db is required") == std::string::npos);
    // A second serve on the same address (an old instance still running) is refused: with
    // SO_REUSEPORT alone it started and took part of the queries from another store.
    CHECK(run("timeout 20 " + v6bl_bin + " serve --db " + db + " --listen 127.0.0.1:" + port,
              out) == 1);
    CHECK(out.find("cannot bind 127.0.0.1:" + port) != std::string::npos);
    CHECK(out.find("is another server running?") != std::string::npos);
    CHECK(out.find("listening on") == std::string::npos);  // ("ready" is in "already")
    const int stopped = run("kill -INT $(cat " + pid + "); for i in $(seq 300); do grep -q " +
                                "stopped " + log + " && exit 0; sleep 0.1; done; exit 1",
                            out);
    INFO("the server's output:\n" << read_file(log));  // (one CI run saw no "stopped" in 30 s)
    CHECK(stopped == 0);
}

// SIGHUP re-reads serve's config file, checked as at start: a bad value keeps the running
// configuration (a zone with a space was served as `bad\032zone`); started with the
// top-level `--config FILE serve`, which a reload cannot re-read, it refuses (it had gone
// back to the defaults: another zone, TTL 300).
TEST_CASE("SIGHUP checks the new configuration as start-up does, or keeps the old one",
          "[tools][serve][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    auto serve_and_hup = [&](const std::string& tag, const std::string& command,
                             const std::string& file, const std::string& after) {
        const std::string log = dir.file(tag + ".log"), pid = dir.file(tag + ".pid");
        REQUIRE(run("(timeout -s INT 60 " + command + " >" + log + " 2>&1 & echo $! >" + pid +
                        "); for i in $(seq 300); do grep -qx ready " + log +
                        " && exit 0; sleep 0.1; done; exit 1",
                    out) == 0);
        write(file, after);
        CHECK(run("kill -HUP $(cat " + pid + "); for i in $(seq 300); do grep -q 'SIGHUP: ' " +
                      log + " && exit 0; sleep 0.1; done; exit 1",
                  out) == 0);
        run("kill -INT $(cat " + pid + "); for i in $(seq 300); do grep -q stopped " + log +
                " && exit 0; sleep 0.1; done; exit 1",
            out);
        return read_file(log);
    };
    const std::string port = std::to_string(v6bl::test::free_port());
    const std::string common =
        "db = \"" + db + "\"\nlisten = [\"127.0.0.1:" + port + "\"]\nzone = \"mine.example\"\n";
    write(dir.file("serve.toml"), common);
    std::string log = serve_and_hup(
        "bad-zone", v6bl_bin + " serve --config " + dir.file("serve.toml"), dir.file("serve.toml"),
        "db = \"" + db + "\"\nlisten = [\"127.0.0.1:" + port +
            "\"]\nzone = \"bad zone.example\"\n");
    INFO(log);
    CHECK(log.find("SIGHUP: --zone 'bad zone.example'") != std::string::npos);
    CHECK(log.find("SIGHUP: configuration not reloaded") != std::string::npos);
    CHECK(log.find("configuration reloaded") == std::string::npos);

    write(dir.file("top.toml"), "[serve]\n" + common);
    log = serve_and_hup("top", v6bl_bin + " --config " + dir.file("top.toml") + " serve",
                        dir.file("top.toml"), "[serve]\n" + common + "ttl = 77\n");
    INFO(log);
    CHECK(log.find("SIGHUP: serve was started as `v6bl --config FILE serve`") != std::string::npos);
    CHECK(log.find("configuration reloaded") == std::string::npos);
}

TEST_CASE("a refused config value is put on the line of the section that holds it",
          "[tools][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    // The same key in two sections: the line of the value CLI11 refused, not of the first key
    // of that name (it named line 5).
    write(dir.file("two.toml"), "[list]\n\nmin-strength = 5000\n[lookup]\nmin-strength = 700\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("two.toml") + " list --db " + db, out) == 64);
    CHECK(out.find(dir.file("two.toml") + ":3: --min-strength") != std::string::npos);
    write(dir.file("two2.toml"), "[lookup]\nmin-strength = 700\n[list]\n\nmin-strength = 5000\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("two2.toml") + " list --db " + db, out) == 64);
    CHECK(out.find(dir.file("two2.toml") + ":5: --min-strength") != std::string::npos);
}

TEST_CASE("serve's settings in two config files are refused, not half dropped",
          "[tools][serve][config]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    const std::string port = std::to_string(v6bl::test::free_port());
    // `v6bl --config top.toml serve --config own.toml`: serve's own file replaced everything,
    // and the [serve] section's threads = 2 was dropped without a word.
    write(dir.file("top.toml"), "[serve]\nthreads = 2\n");
    write(dir.file("own.toml"), "db = \"" + db + "\"\nlisten = [\"127.0.0.1:" + port + "\"]\n");
    CHECK(run("timeout 20 " + v6bl_bin + " --config " + dir.file("top.toml") + " serve --config " +
                  dir.file("own.toml"),
              out) == 64);
    CHECK(out.find("settings in two config files") != std::string::npos);
    CHECK(out.find("listening on") == std::string::npos);
    // A top-level file without a [serve] section drops nothing: serve's file is read (here
    // one without --db, to stop at once).
    write(dir.file("other.toml"), "[lookup]\nmin-strength = 700\n");
    write(dir.file("nodb.toml"), "listen = [\"127.0.0.1:" + port + "\"]\n");
    CHECK(run("timeout 20 " + v6bl_bin + " --config " + dir.file("other.toml") +
                  " serve --config " + dir.file("nodb.toml"),
              out) == 64);
    CHECK(out.find("--db is required") != std::string::npos);
    CHECK(out.find("two config files") == std::string::npos);
}

// Syslog writes local time, and `ingest` reads BSD syslog times as local by default: the
// simulated maillog is written the same way, so that both agree on a host not set to UTC.
TEST_CASE("simulate writes the maillog's syslog times in the zone ingest reads them in",
          "[tools][simulate]") {
    temp_dir dir;
    std::string out;
    const std::string sim =
        v6bl_bin + " simulate --hosts 30 --hours 0.1 --start 1764547200 --seed 4 --out ";
    REQUIRE(run(sim + dir.file("utc") + " --log-timezone UTC", out) == 0);
    REQUIRE(run(sim + dir.file("tokyo") + " --log-timezone Asia/Tokyo", out) == 0);
    REQUIRE(run("TZ=Asia/Tokyo " + sim + dir.file("local"), out) == 0);
    auto lines = [](const std::string& path) {
        std::ifstream in(path);
        std::vector<std::string> v;
        for (std::string l; std::getline(in, l);) v.push_back(l);
        return v;
    };
    const auto utc = lines(dir.file("utc") + "/maillog");
    const auto tokyo = lines(dir.file("tokyo") + "/maillog");
    REQUIRE(utc.size() > 10);
    REQUIRE(tokyo.size() == utc.size());
    // 2025-12-01 00:00 UTC is 09:00 in Tokyo (UTC+9, no DST); the rest of a line is the same
    for (std::size_t i = 0; i < utc.size(); ++i) {
        INFO(utc[i] << "\n" << tokyo[i]);
        REQUIRE(utc[i].substr(15) == tokyo[i].substr(15));
        const int hu = std::stoi(utc[i].substr(7, 2)), ht = std::stoi(tokyo[i].substr(7, 2));
        CHECK((hu + 9) % 24 == ht);
        CHECK(utc[i].substr(9, 6) == tokyo[i].substr(9, 6));
    }
    CHECK(tokyo.front().rfind("Dec  1 0", 0) == 0);
    CHECK(utc.front().rfind("Nov 30 23", 0) == 0);
    // the default is the local zone, as for ingest
    CHECK(lines(dir.file("local") + "/maillog") == tokyo);
    CHECK(run(sim + dir.file("bad") + " --log-timezone Mars/Olympus_Mons", out) == 64);
    CHECK(out.find("--log-timezone") != std::string::npos);
}

// The address book's bound of /64s and the engine's bound of one-round histories reach
// them from the flag and from a config file, and what each forgets is in the summary.
TEST_CASE("ingest --max-book-64s and --max-histories bound what is held, from flag or config",
          "[tools][ingest]") {
    temp_dir dir;
    std::string out;
    REQUIRE(run(v6bl_bin + " simulate --hosts 60 --hours 0.5 --seed 4 --log-timezone UTC --out " +
                    dir.file("sim"),
                out) == 0);
    const std::string ingest =
        v6bl_bin + " ingest --log-timezone UTC --capture " + dir.file("sim") + "/sensor.pcap";
    REQUIRE(run(ingest + " --db " + dir.file("free"), out) == 0);
    CHECK(out.find("forgotten early") == std::string::npos);
    struct bound {
        std::string flag, value, said;
    };
    for (const bound& b :
         {bound{"max-book-64s", "5", " /64s forgotten early (the address book held its bound"},
          bound{"max-histories", "20",
                " one-round addresses forgotten early (the engine held its bound"}}) {
        CAPTURE(b.flag);
        REQUIRE(run(ingest + " --db " + dir.file(b.flag + "-flag") + " --" + b.flag + " " + b.value,
                    out) == 0);
        CHECK(out.find(b.said) != std::string::npos);
        const std::string config = dir.file(b.flag + ".toml");
        { std::ofstream(config) << "[ingest]\n" << b.flag << " = " << b.value << "\n"; }
        std::string from_config;
        REQUIRE(run(ingest + " --db " + dir.file(b.flag + "-config") + " --config " + config,
                    from_config) == 0);
        // As many forgotten (the summaries differ in their commit times only).
        auto forgotten = [&](const std::string& text) {
            const auto end = text.find(b.said);
            if (end == std::string::npos) return std::string("none");
            return text.substr(text.rfind(' ', end - 1) + 1, end - text.rfind(' ', end - 1) - 1);
        };
        CHECK(forgotten(out) != "none");
        CHECK(forgotten(from_config) == forgotten(out));
    }
}

TEST_CASE("lookup prints the TXT that serve answers, with its lookup URL", "[tools][lookup]") {
    temp_dir dir;
    std::string out;
    const std::string db = dir.file("db");
    write(dir.file("l.txt"), "2001:db8:5::/64 127.0.0.2 seen spamming\n");
    REQUIRE(run(v6bl_bin + " import --db " + db + " " + dir.file("l.txt"), out) == 0);
    REQUIRE(run(v6bl_bin + " lookup --db " + db + " 2001:db8:5::1", out) == 0);
    CHECK(out.find("  TXT: v6bl: 2001:db8:5::/64 listed by operator: seen spamming; "
                   "https://dnsbl6.example.org/lookup/2001:db8:5::/64\n") != std::string::npos);
    REQUIRE(run(v6bl_bin + " lookup --db " + db +
                    " --url-template 'https://bl.example.net/q?p={prefix}' --json 2001:db8:5::1",
                out) == 0);
    const auto j = nlohmann::json::parse(out);
    CHECK(j["txt"] ==
          "v6bl: 2001:db8:5::/64 listed by operator: seen spamming; "
          "https://bl.example.net/q?p=2001:db8:5::/64");
    // Every {prefix} is replaced, not the first alone.
    REQUIRE(run(v6bl_bin + " lookup --db " + db +
                    " --url-template 'https://bl.example.net/{prefix}?q={prefix}' 2001:db8:5::1",
                out) == 0);
    CHECK(out.find("https://bl.example.net/2001:db8:5::/64?q=2001:db8:5::/64\n") !=
          std::string::npos);
}

// `list` gave an allowlisted record the code its record alone had (127.0.0.2) while lookup,
// serve and --published say it is not listed. A record that only holds an allowlisted
// prefix is listed around that hole, and keeps its code.
TEST_CASE("list says a record inside an allowlisted prefix is not listed, as lookup does",
          "[tools][list]") {
    temp_dir dir;
    std::string out;
    const std::string db = dir.file("db");
    write(dir.file("l.txt"),
          "2001:db8:5::/64 127.0.0.2 inside the allowlisted /48\n"
          "2001:db8:7::/48 127.0.0.2 holds an allowlisted /64\n");
    REQUIRE(run(v6bl_bin + " import --db " + db + " " + dir.file("l.txt"), out) == 0);
    REQUIRE(run(v6bl_bin + " allow --db " + db + " 2001:db8:5::/48", out) == 0);
    REQUIRE(run(v6bl_bin + " allow --db " + db + " 2001:db8:7:1::/64", out) == 0);
    REQUIRE(run(v6bl_bin + " lookup --db " + db + " 2001:db8:5::1", out) == 1);
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    INFO(out);
    CHECK(out.find("2001:db8:5::/64 allowlisted allowed_by=2001:db8:5::/48 strength=") !=
          std::string::npos);
    CHECK(out.find("2001:db8:7::/48 127.0.0.2 ") != std::string::npos);
    REQUIRE(run(v6bl_bin + " list --db " + db + " --json", out) == 0);
    std::istringstream lines(out);
    int records = 0;
    for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line);
        if (!j.contains("prefix")) continue;
        ++records;
        if (j["prefix"] == "2001:db8:5::/64") {
            CHECK(j["code"].is_null());
            CHECK(j["allowed_by"] == "2001:db8:5::/48");
        } else {
            CHECK(j["prefix"] == "2001:db8:7::/48");
            CHECK(j["code"] == 2);
            CHECK_FALSE(j.contains("allowed_by"));
        }
    }
    CHECK(records == 2);
    // --published agrees: the /64 is not there, the /48 is.
    REQUIRE(run(v6bl_bin + " list --db " + db + " --published", out) == 0);
    CHECK(out.find("2001:db8:5::/64") == std::string::npos);
    CHECK(out.find("2001:db8:7::/48 127.0.0.2") != std::string::npos);
}

// CLI11 reads 0/1 and "true"/"yes"/"on" (and their opposites) as a switch in a config file.
TEST_CASE("a config file's switch may be 0/1 or a quoted boolean, as CLI11 reads them",
          "[tools][config]") {
    temp_dir dir;
    std::string out;
    const std::string db = dir.file("db");
    write(dir.file("l.txt"), "2001:db8:5::/64 127.0.0.2 seen spamming\n");
    REQUIRE(run(v6bl_bin + " import --db " + db + " " + dir.file("l.txt"), out) == 0);
    for (const std::string value : {"true", "1", "\"true\"", "\"yes\"", "\"On\""}) {
        write(dir.file("c.toml"), "[lookup]\njson = " + value + "\n");
        INFO(value);
        CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " lookup --db " + db +
                      " 2001:db8:5::1",
                  out) == 0);
        INFO(out);
        CHECK(out.find("\"txt\"") != std::string::npos);  // --json took effect
    }
}

TEST_CASE("a config file's switch refuses counts other than 0 and 1 and other words",
          "[tools][config]") {
    temp_dir dir;
    std::string out;
    for (const std::string value : {"3", "\"maybe\"", "0.5", "[true]"}) {
        write(dir.file("c.toml"), "[lookup]\njson = " + value + "\n");
        INFO(value);
        CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " lookup --db " + dir.file("db") +
                      " 2001:db8:5::1",
                  out) == 64);
        CHECK(out.find(":2: 'json' in [lookup] is a switch: true or false") != std::string::npos);
    }
}

TEST_CASE("a config file's text with a NUL in it is refused, not cut short", "[tools][config]") {
    // TOML writes NUL as \u0000: `rejects = "r.log\u0000x"` read r.log, and an
    // associations-out name was cut and created as such.
    temp_dir dir;
    std::string out;
    write(dir.file("r.log"), "");
    write(dir.file("c.toml"), "[ingest]\ndb = \"" + dir.file("db") + "\"\nrejects = [\"" +
                                  dir.file("r.log") + "\", \"" + dir.file("r.log") +
                                  "\\u0000x\"]\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " ingest --quiet", out) == 64);
    CHECK(out.find("c.toml:3: 'rejects' in [ingest] holds a NUL character") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("db")));
    write(dir.file("c.toml"),
          "[ingest]\ndb = \"" + dir.file("db") + "\"\nrejects = \"" + dir.file("r.log") + "\"\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " ingest --quiet", out) == 0);
}

TEST_CASE("a config file's number past 64 bits is quoted as written, not as the bound",
          "[tools][config]") {
    // toml11 reads 99999999999999999999 as 2^63-1: the message quoted a value not in the file.
    temp_dir dir;
    std::string out;
    for (const std::string year : {"99999999999999999999", "-99_999_999_999_999_999_999"}) {
        write(dir.file("c.toml"), "[ingest]\ndb = \"" + dir.file("db") +
                                      "\"\nrejects = \"/dev/null\"\nyear = " + year + "\n");
        CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " ingest --quiet", out) == 64);
        std::string plain = year;
        std::erase(plain, '_');
        CHECK(out.find("c.toml:4: --year: Value " + plain + " not in range 1970 to 2105") !=
              std::string::npos);
    }
    // The bound itself, written as such, is quoted as it is.
    write(dir.file("c.toml"), "[ingest]\ndb = \"" + dir.file("db") +
                                  "\"\nrejects = \"/dev/null\"\nyear = 9223372036854775807\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("c.toml") + " ingest --quiet", out) == 64);
    CHECK(out.find("--year: Value 9223372036854775807 not in range") != std::string::npos);
}

TEST_CASE("a flag a config file cannot set is named with its line", "[tools][config]") {
    // CLI11 refuses help in a file; the message had no line and said the key should go in
    // its section, where it was.
    temp_dir dir;
    std::string out;
    write(dir.file("h.toml"), "[ingest]\ndb = \"" + dir.file("db") + "\"\nhelp = true\n");
    CHECK(run(v6bl_bin + " --config " + dir.file("h.toml") + " ingest", out) == 64);
    CHECK(out.find("h.toml:3: 'help' in [ingest] cannot be set in a config file: give --help on "
                   "the command line") != std::string::npos);
}

TEST_CASE("lookup and list refuse a store that lost a table file (exit 2)", "[tools][lookup]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    write(dir.file("more.txt"), "2001:db8:1:2::/64 127.0.0.12 longer\n");
    REQUIRE(run(v6bl_bin + " import --db " + db + " " + dir.file("more.txt"), out) == 0);
    REQUIRE(run(v6bl_bin + " compact --db " + db, out) == 0);
    int removed = 0;
    for (const auto& e : std::filesystem::directory_iterator(db))
        if (e.path().extension() == ".sst") removed += std::filesystem::remove(e.path()) ? 1 : 0;
    REQUIRE(removed > 0);
    std::filesystem::create_directories(dir.file("tmp"));
    // The read-only open refuses it; the secondary instance lookup falls back to read an
    // older state around the missing file, and answered from it with exit 0 or 1.
    CHECK(run("TMPDIR=" + dir.file("tmp") + " " + v6bl_bin + " lookup --db " + db +
                  " 2001:db8:1:2::1",
              out) == 2);
    CHECK(out.find("Corruption") != std::string::npos);
    CHECK(run("TMPDIR=" + dir.file("tmp") + " " + v6bl_bin + " list --db " + db, out) != 0);
    CHECK(out.find("Corruption") != std::string::npos);
}

TEST_CASE("list, lookup and export say when they left out records they cannot decode",
          "[tools][list]") {
    temp_dir dir;
    const std::string db = one_listing_store(dir);
    std::string out;
    write(dir.file("more.txt"), "2001:db8:1:8::/64 127.0.0.12 newer\n");
    REQUIRE(run(v6bl_bin + " import --db " + db + " " + dir.file("more.txt"), out) == 0);
    {
        // The /64's record as a later version of the encoding would write it.
        rocksdb::DBOptions dbo;
        std::vector<std::string> names;
        REQUIRE(rocksdb::DB::ListColumnFamilies(dbo, db, &names).ok());
        std::vector<rocksdb::ColumnFamilyDescriptor> descs;
        for (auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(dbo, db, descs, &handles, &raw).ok());
        const auto key = v6bl::store::prefix_key(*v6bl::store::parse_prefix("2001:db8:1:8::/64"));
        const auto idx = std::find(names.begin(), names.end(), "listings") - names.begin();
        REQUIRE(raw->Put(rocksdb::WriteOptions(), handles[static_cast<std::size_t>(idx)],
                         rocksdb::Slice(key.data(), key.size()), "\x09R-from-the-future")
                    .ok());
        for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
        delete raw;
    }
    const std::string warning = "stored record(s) could not be decoded and were left out";
    REQUIRE(run(v6bl_bin + " list --db " + db, out) == 0);
    CHECK(out.find("2001:db8:1::/64") != std::string::npos);
    CHECK(out.find(warning) != std::string::npos);
    run(v6bl_bin + " lookup --db " + db + " 2001:db8:1:8::1", out);
    CHECK(out.find(warning) != std::string::npos);
    REQUIRE(run(v6bl_bin + " export --db " + db + " --out " + dir.file("z.zone"), out) == 0);
    CHECK(out.find("v6bl export: warning: 1 " + warning) != std::string::npos);
    // A store without any: no warning.
    temp_dir other;
    const std::string clean = one_listing_store(other);
    REQUIRE(run(v6bl_bin + " list --db " + clean, out) == 0);
    CHECK(out.find(warning) == std::string::npos);
}

TEST_CASE("a bad --interface is refused before any capture file is read", "[tools][ingest]") {
    // It was found after every --capture had been read, and that work was not committed.
    temp_dir dir;
    std::string out;
    write(dir.file("bad.pcap"), std::string(64, 'x'));  // would be reported when read
    CHECK(run(v6bl_bin + " ingest --db " + dir.file("db") + " --capture " + dir.file("bad.pcap") +
                  " --interface v6bl-nosuch0",
              out) != 0);
    INFO(out);
    CHECK(out.find("cannot capture on v6bl-nosuch0") != std::string::npos);
    CHECK(out.find("bad.pcap") == std::string::npos);
}

TEST_CASE("a live capture whose interface is deleted ends with an error after its last commit",
          "[tools][ingest]") {
    // The run went on capturing nothing, for good (even once the interface was back), and
    // exited 0 on SIGTERM.
    const std::string name = "v6blt" + std::to_string(::getpid() % 100000);
    std::string out;
    if (run("ip link add " + name + " type veth peer name " + name + "p && ip link set " + name +
                " up",
            out) != 0) {
        WARN("not run: cannot make a veth pair here (not root, or no veth driver): " << out);
        return;
    }
    temp_dir dir;
    const std::string log = dir.file("ingest.out");
    std::string ignored;
    auto ingest = std::async(std::launch::async, [&] {
        return run("timeout 60 " + v6bl_bin + " ingest --db " + dir.file("db") + " --interface " +
                       name + " > " + log + " 2>&1",
                   ignored);
    });
    for (int i = 0; i < 300 && read_file(log).find("capturing on") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    run("ip link del " + name, out);
    const int rc = ingest.get();
    const std::string said = read_file(log);
    INFO(said);
    CHECK(rc == 1);
    CHECK(said.find("capture on " + name + " ended") != std::string::npos);
    CHECK(said.find("ingest: ") != std::string::npos);  // the summary, after the last commit
}

// A log that is a pseudo-file whose read waits for good (tracefs' trace_pipe: a regular
// file to stat) kept ingest from stopping: SIGTERM's handler ran, and the read went on
// waiting (std::signal sets SA_RESTART). Run as root only: the test mounts its own tracefs
// and reads a trace instance of its own, which nothing writes to.
TEST_CASE("SIGTERM stops an ingest blocked in the read of a log that never ends",
          "[tools][ingest]") {
    temp_dir dir;
    const std::string mnt = dir.file("tracefs");
    std::filesystem::create_directory(mnt);
    std::string out;
    if (run("mount -t tracefs nodev " + mnt, out) != 0) {
        WARN("not run: cannot mount tracefs here (not root, or no tracing): " << out);
        return;
    }
    const std::string instance = mnt + "/instances/v6bl" + std::to_string(::getpid());
    if (!std::filesystem::create_directory(instance)) {
        run("umount " + mnt, out);
        WARN("not run: cannot make a trace instance");
        return;
    }
    const std::string pipe = instance + "/trace_pipe";
    const std::string log = dir.file("ingest.out"), pid_file = dir.file("pid");
    std::string ignored;
    auto ingest = std::async(std::launch::async, [&] {
        return run("sh -c 'echo $$ > " + pid_file + "; exec " + v6bl_bin + " ingest --db " +
                       dir.file("db") + " --rejects " + pipe + "' > " + log + " 2>&1",
                   ignored);
    });
    // Once the log is open (its read waits from then on), SIGTERM.
    pid_t pid = 0;
    bool opened = false;
    for (int i = 0; i < 200 && !opened; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!pid) pid = static_cast<pid_t>(std::atoi(read_file(pid_file).c_str()));
        if (!pid) continue;
        std::error_code ec;
        for (const auto& fd :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
            if (std::filesystem::read_symlink(fd.path(), ec).string().find("trace_pipe") !=
                std::string::npos)
                opened = true;
    }
    CHECK(opened);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (pid) ::kill(pid, SIGTERM);
    // A bound for a failure, not a speed: it stops at once, or never.
    const bool stopped = ingest.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    if (!stopped && pid) ::kill(pid, SIGKILL);
    const int rc = ingest.get();
    run("rmdir " + instance + " && umount " + mnt, out);
    const std::string said = read_file(log);
    INFO(said);
    CHECK(stopped);
    CHECK(rc == 0);
    CHECK(said.find("ingest: ") != std::string::npos);  // the summary, after the last commit
    CHECK(said.find("read error") == std::string::npos);
}

// Beside --interface without --follow, the log was read at the start and then reopened
// on every poll of the capture loop: lines appended later were read, each time with a note
// that it had been "read further before (under another name, a rotation)".
TEST_CASE("beside a live capture without --follow, a log is read once, at the start",
          "[tools][ingest]") {
    temp_dir dir;
    const std::string log = dir.file("maillog"), said_file = dir.file("ingest.out"),
                      pid_file = dir.file("pid");
    const std::string reject =
        "Dec  5 10:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.8]: "
        "554 5.7.1 Service unavailable; Client host [198.51.100.8] blocked using "
        "zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>\n";
    write(log, reject);
    std::string ignored;
    auto ingest = std::async(std::launch::async, [&] {
        return run("sh -c 'echo $$ > " + pid_file + "; exec " + v6bl_bin + " ingest --db " +
                       dir.file("db") + " --year 2026 --rejects " + log + " --interface lo' > " +
                       said_file + " 2>&1",
                   ignored);
    });
    for (int i = 0; i < 300 && read_file(said_file).find("capturing on") == std::string::npos &&
                    read_file(said_file).find("ingest: ") == std::string::npos;
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (read_file(said_file).find("capturing on") == std::string::npos) {
        const int rc = ingest.get();
        WARN("not run: cannot capture on lo here (exit " << rc << "): " << read_file(said_file));
        return;
    }
    std::ofstream(log, std::ios::app) << reject << "a line of junk\n";
    // Several polls of the capture loop (each 100 ms or less) see the appended lines.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ::kill(static_cast<pid_t>(std::atoi(read_file(pid_file).c_str())), SIGTERM);
    CHECK(ingest.get() == 0);
    const std::string said = read_file(said_file);
    INFO(said);
    CHECK(said.find("1 log lines, 1 DNSBL rejections") != std::string::npos);
    CHECK(said.find("read further before") == std::string::npos);
    CHECK(said.find("unrecognized log line") == std::string::npos);
}

TEST_CASE("a delisted /64 does not come back from an association remembered before the delist",
          "[tools][ingest]") {
    // delist left the association ingest remembers until its IPv4's rejection: the IPv4's
    // next rejection listed the /64 again, with no new evidence.
    temp_dir dir;
    std::string out;
    const long long t = static_cast<long long>(::time(nullptr)) - 3600;
    write(dir.file("v.jsonl"),
          R"({"v":1,"ipv6":"2001:db8:78:1::5","ipv4":"198.51.100.8","time":)" + std::to_string(t) +
              R"(,"strength":0.9,"ipv4_rejected":true})" + "\n" +
              R"({"v":1,"ipv6":"2001:db8:78:1::5","ipv4":"198.51.100.9","time":)" +
              std::to_string(t) + R"(,"strength":0.9,"ipv4_rejected":false})" + "\n");
    const std::string db = dir.file("db");
    REQUIRE(run(v6bl_bin + " ingest --quiet --db " + db + " --associations " + dir.file("v.jsonl"),
                out) == 0);
    REQUIRE(run(v6bl_bin + " delist --db " + db + " 2001:db8:78::/48", out) == 0);
    CHECK(out.find("removing 1 stored record(s) and their evidence, and 1 association(s) "
                   "waiting for their IPv4's rejection") != std::string::npos);
    // The IPv4 the remembered association named is rejected now.
    char when[40];
    const std::time_t r = static_cast<std::time_t>(t + 60);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S+00:00", std::gmtime(&r));
    write(dir.file("m.log"),
          std::string(when) +
              " mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[198.51.100.9]: 554 5.7.1 "
              "Service unavailable; Client host [198.51.100.9] blocked using zen.spamhaus.org; "
              "from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<x>\n");
    REQUIRE(run(v6bl_bin + " ingest --quiet --db " + db + " --rejects " + dir.file("m.log"), out) ==
            0);
    CHECK(run(v6bl_bin + " lookup --db " + db + " 2001:db8:78:1::5", out) == 1);
    CHECK(out.find("not listed") != std::string::npos);
    // Nothing of it left: a second delist finds nothing.
    REQUIRE(run(v6bl_bin + " delist --db " + db + " 2001:db8:78:1::/64", out) == 0);
    CHECK(out.find("nothing committed") != std::string::npos);
}
