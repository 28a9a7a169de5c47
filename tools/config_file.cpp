#include "config_file.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <toml.hpp>

namespace v6bl::tools {
namespace {

constexpr std::uintmax_t max_config_bytes = 1 << 20;

// The first line of toml11's message, without its "[error] " tag.
std::string first_line(const std::string& what) {
    std::string s = what.substr(0, what.find('\n'));
    if (s.rfind("[error] ", 0) == 0) s.erase(0, 8);
    return s;
}

bool same_key(std::string a, std::string b) {
    for (auto* s : {&a, &b})
        for (char& c : *s)
            if (c == '_') c = '-';
    return a == b;
}

// toml11 parses arrays and inline tables recursively: a few thousand `[` (a 10 KB file)
// overflowed the stack. Where the nesting, outside strings and comments, goes deeper than
// any configuration needs: "LINE: ..." (empty when it does not).
std::string nesting_problem(const std::string& path) {
    constexpr int max_depth = 32;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return {};
    std::string text;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    int depth = 0, line = 1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
        } else if (c == '#') {
            while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
        } else if (c == '"' || c == '\'') {
            // A string: basic ("…", escapes) or literal ('…'), single- or multi-line.
            const bool multi = text.compare(i, 3, std::string(3, c)) == 0;
            i += multi ? 3 : 1;
            for (; i < text.size(); ++i) {
                if (text[i] == '\n') ++line;
                if (c == '"' && text[i] == '\\') {
                    if (i + 1 < text.size() && text[i + 1] == '\n') ++line;
                    ++i;
                    continue;
                }
                if (text[i] != c) continue;
                if (!multi) break;
                if (text.compare(i, 3, std::string(3, c)) == 0) {
                    i += 2;
                    break;
                }
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return std::to_string(line) + ": arrays or inline tables nested more than " +
                       std::to_string(max_depth) + " deep";
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return {};
}

// A TOML value as the strings CLI11 hands a flag.
void add_inputs(const toml::value& v, std::vector<std::string>& out) {
    switch (v.type()) {
        case toml::value_t::boolean:
            out.emplace_back(v.as_boolean() ? "true" : "false");
            break;
        case toml::value_t::integer: {
            // Past the 64-bit range toml11 gives the nearest bound: the value as written is
            // handed on instead, for the flag's own range check to quote it.
            const auto n = v.as_integer();
            if (n == std::numeric_limits<std::int64_t>::max() ||
                n == std::numeric_limits<std::int64_t>::min()) {
                const toml::source_location at = v.location();
                if (at.column() >= 1 && at.column() - 1 + at.region() <= at.line_str().size()) {
                    std::string written = at.line_str().substr(at.column() - 1, at.region());
                    std::erase(written, '_');
                    if (!written.empty() && written.front() == '+') written.erase(0, 1);
                    out.push_back(std::move(written));
                    break;
                }
            }
            out.push_back(std::to_string(n));
            break;
        }
        case toml::value_t::floating: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", v.as_floating());
            out.emplace_back(buf);
            break;
        }
        case toml::value_t::string:
            out.push_back(v.as_string().str);
            break;
        case toml::value_t::array:
            for (const auto& e : v.as_array()) add_inputs(e, out);
            break;
        default:  // dates and times: their TOML text
            out.push_back(toml::format(v));
            break;
    }
}

class toml_reader : public CLI::ConfigTOML {
  public:
    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
        if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // a UTF-8 BOM
        std::istringstream in(text);
        toml::value root;
        try {
            root = toml::parse(in, "config");
        } catch (const std::exception& e) {
            throw CLI::ConfigError(first_line(e.what()));
        }
        std::vector<CLI::ConfigItem> out_items;
        auto item = [&](std::vector<std::string> parents, const std::string& name,
                        const toml::value& v) {
            CLI::ConfigItem it;
            it.parents = std::move(parents);
            it.name = name;
            add_inputs(v, it.inputs);
            out_items.push_back(std::move(it));
        };
        auto section = [&](const std::string& name, const toml::value& table) {
            CLI::ConfigItem start;  // CLI11's marks of a section's start and end
            start.parents = {name};
            start.name = "++";
            out_items.push_back(std::move(start));
            for (const auto& [key, v] : table.as_table()) item({name}, key, v);
            CLI::ConfigItem end;
            end.parents = {name};
            end.name = "--";
            out_items.push_back(std::move(end));
        };
        if (!root.is_table()) return out_items;
        // Keys outside any section first, then the sections (TOML puts no key after a
        // section header outside it, so nothing is reordered that CLI11 would tell apart).
        for (const auto& [key, v] : root.as_table()) {
            const bool array_of_tables =
                v.is_array() && !v.as_array().empty() &&
                std::all_of(v.as_array().begin(), v.as_array().end(),
                            [](const toml::value& e) { return e.is_table(); });
            if (!v.is_table() && !array_of_tables) item({}, key, v);
        }
        for (const auto& [key, v] : root.as_table()) {
            if (v.is_table()) {
                section(key, v);
            } else if (v.is_array() && !v.as_array().empty() &&
                       std::all_of(v.as_array().begin(), v.as_array().end(),
                                   [](const toml::value& e) { return e.is_table(); })) {
                for (const auto& t : v.as_array()) section(key, t);
            }
        }
        return out_items;
    }
};

}  // namespace

bool config_has_section(const std::string& path, const std::string& name) {
    try {
        const toml::value root = toml::parse(path);
        return root.is_table() && root.as_table().count(name) > 0;
    } catch (const std::exception&) {
        return false;
    }
}

std::shared_ptr<CLI::Config> toml_config_reader() {
    return std::make_shared<toml_reader>();
}

std::string config_file_problem(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st)) return path + ": cannot read the config file";
    if (!std::filesystem::is_regular_file(st)) return path + ": not a regular file";
    if (std::filesystem::file_size(path, ec) > max_config_bytes)
        return path + ": larger than 1 MiB, not a config file";
    if (const std::string deep = nesting_problem(path); !deep.empty()) return path + ":" + deep;
    try {
        const toml::value root = toml::parse(path);
        // [[section]] once is [section]; a second one would be read as a second set of the
        // same flags, which CLI11 drops (it fills a flag once): refused, at its header.
        if (root.is_table())
            for (const auto& [key, v] : root.as_table()) {
                if (!v.is_array() || v.as_array().size() < 2 || !v.as_array()[1].is_table())
                    continue;
                return path + ":" + std::to_string(v.as_array()[1].location().line()) + ": [[" +
                       key + "]] a second time: a subcommand reads one section of flags (write [" +
                       key + "] once, with every flag in it)";
            }
    } catch (const toml::syntax_error& e) {
        const auto& loc = e.location();
        return path + ":" + std::to_string(loc.line()) + ":" + std::to_string(loc.column()) + ": " +
               first_line(e.what());
    } catch (const std::exception& e) {
        return path + ": " + first_line(e.what());
    }
    return {};
}

std::string locate_config_error(const std::string& path, const std::string& message,
                                const std::vector<std::string>& args) {
    // "Could not convert: --rrl-rate = abc", "--now: Value x not in range ...",
    // "--rejects: At least 1 required but received 0".
    const auto dashes = message.find("--");
    if (dashes == std::string::npos) return {};
    const auto end = message.find_first_of(" :=", dashes + 2);
    const std::string flag = message.substr(dashes + 2, end - dashes - 2);
    // The same flag given on the command line (which wins) is not the file's fault, unless
    // the message quotes the file's value.
    bool on_command_line = false;
    for (const auto& a : args)
        if (a == "--" + flag || a.rfind("--" + flag + "=", 0) == 0) on_command_line = true;
    // "--db is required": no value was given at all, so a key of that name in the file is
    // another section's (it would be named wrongly); only a quoted value is then the file's.
    const bool missing = message.find(" is required") != std::string::npos;
    // Two passes: first only a key whose value the message quotes (the same key in two
    // sections, `[list] min-strength = 5000` and `[lookup] min-strength = 700`: the one CLI11
    // refused), then any of that name.
    bool quoted_only = true;
    auto at = [&](const std::string& key, const toml::value& v) -> std::string {
        if (!same_key(key, flag)) return {};
        const std::string text = v.is_string() ? v.as_string().str : toml::format(v);
        if ((quoted_only || on_command_line || missing) && message.find(text) == std::string::npos)
            return {};
        return path + ":" + std::to_string(v.location().line()) + ": " + message;
    };
    // Keys at the top, in [section] tables and in [[section]] arrays of tables.
    auto in_table = [&](const toml::value& t) -> std::string {
        for (const auto& [inner, v] : t.as_table())
            if (auto s = at(inner, v); !s.empty()) return s;
        return {};
    };
    try {
        const toml::value root = toml::parse(path);
        if (!root.is_table()) return {};
        for (const bool pass : {true, false}) {
            quoted_only = pass;
            for (const auto& [key, value] : root.as_table()) {
                if (auto s = at(key, value); !s.empty()) return s;
                if (value.is_table()) {
                    if (auto s = in_table(value); !s.empty()) return s;
                } else if (value.is_array()) {
                    for (const auto& element : value.as_array())
                        if (element.is_table())
                            if (auto s = in_table(element); !s.empty()) return s;
                }
            }
        }
    } catch (const std::exception&) {
    }
    return {};
}

std::string describe_unknown_key(const std::string& path, const std::string& message,
                                 bool sections) {
    static const std::string lead = "INI was not able to parse ";
    // CLI11's "ingest.help: This option is not allowed in a configuration file".
    static const std::string not_allowed = ": This option is not allowed in a configuration file";
    const auto at = message.find(lead);
    const auto refused = message.find(not_allowed);
    if (at == std::string::npos && refused == std::string::npos) return {};
    std::vector<std::string> parts;
    std::string name =
        at != std::string::npos ? message.substr(at + lead.size()) : message.substr(0, refused);
    for (std::size_t from = 0;;) {
        const auto dot = name.find('.', from);
        parts.push_back(name.substr(from, dot - from));
        if (dot == std::string::npos) break;
        from = dot + 1;
    }
    const bool section = parts.size() >= 2 && parts.back() == "++";  // CLI11's mark of a table
    if (section) parts.pop_back();
    try {
        const toml::value root = toml::parse(path);
        const toml::value* v = &root;
        for (const auto& p : parts) {
            // ([[section]], an array of one table: config_file_problem() refused more)
            if (v->is_array() && v->as_array().size() == 1) v = &v->as_array().front();
            if (!v->is_table() || !v->as_table().count(p)) return {};
            v = &v->as_table().at(p);
        }
        const std::string where = path + ":" + std::to_string(v->location().line()) + ": ";
        std::string dotted;
        for (const auto& p : parts) dotted += (dotted.empty() ? "" : ".") + p;
        if (refused != std::string::npos && at == std::string::npos)
            return where + "'" + parts.back() + "'" +
                   (parts.size() > 1 ? " in [" + parts.front() + "]" : std::string()) +
                   " cannot be set in a config file: give --" + parts.back() +
                   " on the command line";
        if (!sections) {
            if (section || parts.size() > 1)
                return where + "section [" + dotted +
                       "]: `v6bl serve` takes the flags as keys, without sections";
            return where + "unknown key '" + parts[0] + "': `v6bl serve` has no flag --" + parts[0];
        }
        if (section) {
            return where + "unknown section [" + dotted +
                   "]: sections are named after subcommands, e.g. [ingest] or [lookup]";
        }
        if (parts.size() == 1) {
            // The first of them in the file (CLI11 names the one its map gives first).
            std::string first = parts[0];
            std::uint_least32_t line = v->location().line();
            int others = 0;
            for (const auto& [key, value] : root.as_table()) {
                if (value.is_table() || (value.is_array() && !value.as_array().empty() &&
                                         value.as_array().front().is_table()))
                    continue;
                if (key != parts[0]) ++others;
                if (value.location().line() < line) {
                    line = value.location().line();
                    first = key;
                }
            }
            return path + ":" + std::to_string(line) + ": key '" + first + "' outside any section" +
                   (others > 0 ? " (and " + std::to_string(others) + " more)" : std::string()) +
                   ": a subcommand's keys go in its section ([ingest], "
                   "[lookup], ...), given as `v6bl --config FILE SUBCOMMAND` or `v6bl "
                   "SUBCOMMAND --config FILE`; only `v6bl serve --config FILE` takes them "
                   "without one";
        }
        return where + "unknown key '" + parts.back() + "' in [" + parts.front() + "]: `v6bl " +
               parts.front() + "` has no flag --" + parts.back();
    } catch (const std::exception&) {
        return {};
    }
}

namespace {

const char* toml_kind(const toml::value& v) {
    if (v.is_boolean()) return "a boolean";
    if (v.is_integer() || v.is_floating()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    if (v.is_table()) return "a table";
    return "a date or time";
}

// What is wrong with `v` as the value of `opt`, or "".
std::string kind_problem(const CLI::Option& opt, const toml::value& v) {
    if (opt.get_expected_max() == 0) {  // a flag
        // What CLI11 reads as a switch's value, but for counts other than 0 and 1.
        if (v.is_boolean()) return {};
        if (v.is_integer() && (v.as_integer() == 0 || v.as_integer() == 1)) return {};
        if (v.is_string()) {
            std::string w = v.as_string().str;
            for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            for (const char* ok : {"true", "false", "yes", "no", "on", "off", "1", "0"})
                if (w == ok) return {};
        }
        return "is a switch: true or false, not " + std::string(toml_kind(v));
    }
    const std::string type = opt.get_type_name();
    // The first value (of an array: element) that is not of the kind, or nullptr.
    auto first_bad = [&](auto&& ok) -> const toml::value* {
        if (!v.is_array()) return ok(v) ? nullptr : &v;
        for (const auto& e : v.as_array())
            if (!ok(e)) return &e;
        return nullptr;
    };
    const char* in_array = v.is_array() ? " in the array" : "";
    if (type.rfind("TEXT", 0) == 0) {
        if (const auto* bad = first_bad([](const toml::value& e) { return e.is_string(); }))
            return "takes text: write it in quotes, not as " + std::string(toml_kind(*bad)) +
                   in_array;
        // "\u0000" is TOML: a file name or text with it would reach the flag cut short
        // (`rejects = "r.log\u0000x"` read r.log).
        if (first_bad([](const toml::value& e) {
                return e.as_string().str.find('\0') == std::string::npos;
            }))
            return std::string("holds a NUL character (\\u0000)") + in_array +
                   ", which no file name or text here can";
        return {};
    }
    if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0 || type.rfind("FLOAT", 0) == 0) {
        if (const auto* bad = first_bad([](const toml::value& e) {
                return e.is_integer() || e.is_floating() || e.is_string();
            }))
            return "takes a number, not " + std::string(toml_kind(*bad)) + in_array;
        return {};
    }
    return {};
}

const CLI::Option* option_named(const CLI::App& app, const std::string& key) {
    std::string dashed = key;
    for (char& c : dashed)
        if (c == '_') c = '-';
    for (const auto& name : {"--" + key, "--" + dashed})
        if (const CLI::Option* o = app.get_option_no_throw(name)) return o;
    return nullptr;
}

}  // namespace

std::string config_kind_problem(const std::string& path, const CLI::App& app, bool sections) {
    try {
        const toml::value root = toml::parse(path);
        if (!root.is_table()) return {};
        auto check = [&](const CLI::App& owner, const std::string& where, const std::string& key,
                         const toml::value& v) -> std::string {
            const CLI::Option* o = option_named(owner, key);
            if (!o) return {};
            const std::string what = kind_problem(*o, v);
            if (what.empty()) return {};
            return path + ":" + std::to_string(v.location().line()) + ": '" + key + "'" + where +
                   " " + what;
        };
        for (const auto& [key, value] : root.as_table()) {
            if (!sections) {
                // a table here is a section, which serve's files do not have: CLI11's
                // unknown-key error says so (describe_unknown_key)
                if (value.is_table()) continue;
                if (auto s = check(app, "", key, value); !s.empty()) return s;
                continue;
            }
            if (!value.is_table()) continue;
            const CLI::App* sub = nullptr;
            for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; }))
                if (c->get_name() == key) sub = c;
            if (!sub) continue;
            for (const auto& [inner, v] : value.as_table())
                if (auto s = check(*sub, " in [" + key + "]", inner, v); !s.empty()) return s;
        }
    } catch (const std::exception&) {
    }
    return {};
}

std::vector<std::string> config_paths(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size())
            out.push_back(args[i + 1]);
        else if (args[i].rfind("--config=", 0) == 0)
            out.push_back(args[i].substr(9));
    }
    return out;
}

}  // namespace v6bl::tools
