// GET /audit/logs, POST /audit/export (streamed CSV or NDJSON), GET /audit/verify
// (hash chain check). All require system.configure.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>

#include "api/security.h"

namespace tollgate::api {

namespace {

// Entries read per chunk (export) or per read transaction (verify): bounds both the
// memory of one chunk and how long one read transaction pins old pages.
constexpr std::size_t batch = 1000;

// parse_time accepts "YYYY-MM-DD" (the whole day: its start, or with end_of_day its
// last nanosecond, so ranges are inclusive) or "YYYY-MM-DDTHH:MM:SSZ".
outcome<store::time_ns> parse_time(std::string_view field_name, std::string_view v,
                                   bool end_of_day) {
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (at + len > v.size()) return false;
    auto [p, ec] = std::from_chars(v.data() + at, v.data() + at + len, out);
    return ec == std::errc{} && p == v.data() + at + len;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  bool date_ok = v.size() >= 10 && v[4] == '-' && v[7] == '-' && num(0, 4, y) &&
                 num(5, 2, mo) && num(8, 2, d);
  bool full = v.size() == 20 && v[10] == 'T' && v[13] == ':' && v[16] == ':' && v[19] == 'Z' &&
              num(11, 2, h) && num(14, 2, mi) && num(17, 2, s) && h < 24 && mi < 60 && s < 60;
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!date_ok || !ymd.ok() || y < 1970 || (v.size() != 10 && !full))
    return std::unexpected(invalid(field_name, "must be a date YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"));
  auto day = std::chrono::sys_days{ymd}.time_since_epoch();
  auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(day).count();
  if (full) return t + (static_cast<store::time_ns>(h) * 3600 + mi * 60 + s) * 1'000'000'000;
  return end_of_day ? t + 86'400'000'000'000 - 1 : t;
}

// selection is what an export or a listing keeps.
struct selection {
  store::time_ns start = 0;
  store::time_ns end = INT64_MAX;
  std::string user_id;
  std::vector<std::string> actions;  // empty: every action
  bool keeps(const store::audit_entry& e) const {
    if (e.timestamp < start || e.timestamp > end) return false;
    if (!user_id.empty() && e.user_id != user_id) return false;
    if (actions.empty()) return true;
    return std::find(actions.begin(), actions.end(), e.action) != actions.end();
  }
};

json::value details_of(const store::audit_entry& e) {
  boost::system::error_code ec;
  json::value v = json::parse(e.details_json, ec);
  return ec ? json::value(json::object{}) : v;
}

json::object entry_json(const store::audit_entry& e) {
  return json::object{{"log_id", "log_" + std::to_string(e.id)},
                      {"timestamp", rfc3339(e.timestamp)},
                      {"user_id", e.user_id},
                      {"actor_id", e.actor_id},
                      {"action", e.action},
                      {"ip_address", e.ip_address},
                      {"user_agent", e.user_agent},
                      {"success", e.success},
                      {"details", details_of(e)}};
}

constexpr std::string_view log_params[] = {"user_id", "action", "start_date", "end_date",
                                           "page", "limit"};

void list_logs(const services& svc, const engine::request& req, engine::response& res) {
  auto p = require_permission(svc, req, "system.configure");
  if (!p) return send_error(res, p.error());
  auto q = parse_query(req.query, log_params);
  if (!q) return send_error(res, q.error());
  auto page = positive_param(*q, "page", 1, 1'000'000);
  if (!page) return send_error(res, page.error());
  auto limit = positive_param(*q, "limit", 20, 100);
  if (!limit) return send_error(res, limit.error());
  selection sel;
  if (auto it = q->find("user_id"); it != q->end()) sel.user_id = it->second;
  if (auto it = q->find("action"); it != q->end()) sel.actions.push_back(it->second);
  if (auto it = q->find("start_date"); it != q->end()) {
    auto t = parse_time("start_date", it->second, false);
    if (!t) return send_error(res, t.error());
    sel.start = *t;
  }
  if (auto it = q->find("end_date"); it != q->end()) {
    auto t = parse_time("end_date", it->second, true);
    if (!t) return send_error(res, t.error());
    sel.end = *t;
  }
  std::vector<store::audit_entry> found;
  std::size_t total = 0;
  auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
    auto pg = t.audit_page([&](const store::audit_entry& e) { return sel.keeps(e); },
                           (*page - 1) * *limit, *limit);
    if (!pg) return std::unexpected(pg.error());
    found = std::move(pg->first);
    total = pg->second;
    return {};
  });
  if (!r) return send_error(res, from_store(r.error(), "audit log"));
  json::array logs;
  for (auto& e : found) logs.push_back(entry_json(e));
  send_json(res, 200, json::object{{"logs", std::move(logs)}, {"total", total},
                                   {"page", *page}, {"limit", *limit}});
}

void csv_field(std::string& out, std::string_view v) {
  // Quote every field: values come from clients (user agents, usernames) and may hold
  // commas, quotes or newlines. A leading = + - @ is prefixed with ' so a spreadsheet
  // does not run it as a formula.
  out.push_back('"');
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) out.push_back('\'');
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void csv_line(std::string& out, const store::audit_entry& e) {
  csv_field(out, "log_" + std::to_string(e.id));
  out.push_back(',');
  csv_field(out, rfc3339(e.timestamp));
  for (std::string_view f : {std::string_view(e.user_id), std::string_view(e.actor_id),
                             std::string_view(e.action), std::string_view(e.ip_address),
                             std::string_view(e.user_agent)}) {
    out.push_back(',');
    csv_field(out, f);
  }
  out.append(e.success ? ",true," : ",false,");
  csv_field(out, e.details_json);
  out.append("\r\n");
}

constexpr field export_fields[] = {
    {"format", jtype::string, true},
    {"date_range", jtype::object},
    {"filters", jtype::object},
};

outcome<selection> export_selection(const json::object& body) {
  selection sel;
  if (auto* dr = body.if_contains("date_range")) {
    for (auto& [k, v] : dr->as_object()) {
      std::string name = "date_range." + std::string(k);
      if (k != "start" && k != "end") return std::unexpected(invalid(name, "unknown field"));
      if (!v.is_string()) return std::unexpected(invalid(name, "must be a string"));
      auto t = parse_time(name, v.as_string(), k == "end");
      if (!t) return std::unexpected(t.error());
      (k == "start" ? sel.start : sel.end) = *t;
    }
    if (sel.start > sel.end)
      return std::unexpected(invalid("date_range.end", "must not be before date_range.start"));
  }
  if (auto* f = body.if_contains("filters")) {
    for (auto& [k, v] : f->as_object()) {
      std::string name = "filters." + std::string(k);
      if (k == "user_id") {
        if (!v.is_string()) return std::unexpected(invalid(name, "must be a string"));
        sel.user_id = v.as_string();
      } else if (k == "actions") {
        if (!v.is_array()) return std::unexpected(invalid(name, "must be an array of strings"));
        std::size_t i = 0;
        for (auto& a : v.as_array()) {
          if (!a.is_string() || a.as_string().empty() || a.as_string().size() > 64)
            return std::unexpected(invalid(name + "[" + std::to_string(i) + "]",
                                           "must be a non-empty string of at most 64 bytes"));
          sel.actions.emplace_back(a.as_string());
          ++i;
        }
      } else {
        return std::unexpected(invalid(name, "unknown field"));
      }
    }
  }
  return sel;
}

void export_logs(const services& svc, const engine::request& req, engine::response& res) {
  auto p = require_permission(svc, req, "system.configure");
  if (!p) return send_error(res, p.error());
  auto body = parse_body(svc, req, export_fields);
  if (!body) return send_error(res, body.error());
  std::string_view format = get_string(*body, "format").value_or("");
  bool csv = format == "csv";
  if (!csv && format != "json" && format != "ndjson")
    return send_error(res, invalid("format", "must be \"csv\", \"json\" or \"ndjson\""));
  auto sel = export_selection(*body);
  if (!sel) return send_error(res, sel.error());
  auto w = svc.db->write([&](store::write_txn& t) -> store::result<void> {
    return write_audit(t, audit(svc, req, p->user.id, "", "data_access", true,
                                json::object{{"export", "audit_logs"}, {"format", format}}));
  });
  if (!w) return send_error(res, from_store(w.error(), "audit log"));

  // The stream reads `batch` entries per chunk in a fresh read transaction from a
  // cursor id, so neither memory nor a long-lived snapshot grows with the log.
  struct cursor {
    store::store* db;
    selection sel;
    bool csv;
    bool header = true;
    std::uint64_t after = 0;
    unsigned chunks = 0;
  };
  auto c = std::make_shared<cursor>(cursor{svc.db, std::move(*sel), csv});
  res.set_status(200);
  if (csv) res.add_header("Content-Disposition", "attachment; filename=\"audit.csv\"");
  res.stream(csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
             [c](std::string& out) -> bool {
               if (c->header && c->csv)
                 out.append("log_id,timestamp,user_id,actor_id,action,ip_address,user_agent,"
                            "success,details\r\n");
               c->header = false;
               bool more = false;
               auto r = c->db->read([&](const store::read_txn& t) -> store::result<void> {
                 auto got = t.audit_after(c->after, batch);
                 if (!got) return std::unexpected(got.error());
                 more = got->size() == batch;
                 for (auto& e : *got) {
                   c->after = e.id;
                   // Ids follow time, so the first entry past the range ends it.
                   if (e.timestamp > c->sel.end) {
                     more = false;
                     break;
                   }
                   if (!c->sel.keeps(e)) continue;
                   if (c->csv) {
                     csv_line(out, e);
                   } else {
                     out.append(json::serialize(entry_json(e))).push_back('\n');
                   }
                 }
                 return {};
               });
               // LMDB reads through a shared file map: without this every page the
               // export walks would stay in RSS (hundreds of MiB for a million
               // entries) although nothing is allocated.
               if (++c->chunks % 8 == 0 || !more) c->db->release_mapped_pages();
               if (!r) {
                 // The status is already sent: ending early is all that is left; the
                 // client sees a body without the terminating chunk's full content.
                 std::fprintf(stderr, "tollgate: audit export stopped: %.*s\n",
                              static_cast<int>(store::message_of(r.error()).size()),
                              store::message_of(r.error()).data());
                 return false;
               }
               return more;
             });
}

void verify_chain(const services& svc, const engine::request& req, engine::response& res) {
  auto p = require_permission(svc, req, "system.configure");
  if (!p) return send_error(res, p.error());
  if (!req.query.empty()) return send_error(res, invalid(req.query, "unknown query parameter"));
  std::uint64_t after = 0, entries = 0;
  std::string prev;
  std::optional<std::uint64_t> first_bad;
  for (bool more = true; more && !first_bad;) {
    auto r = svc.db->read([&](const store::read_txn& t) -> store::result<void> {
      auto got = t.audit_after(after, batch);
      if (!got) return std::unexpected(got.error());
      more = got->size() == batch;
      for (auto& e : *got) {
        ++entries;
        after = e.id;
        // An entry whose id is not its predecessor's + 1 means one was removed.
        if (e.id != entries || store::audit_chain_hash(prev, e) != e.hash) {
          first_bad = e.id;
          return {};
        }
        prev = e.hash;
      }
      return {};
    });
    if (!r) return send_error(res, from_store(r.error(), "audit log"));
  }
  json::object o{{"valid", !first_bad}, {"entries", entries}};
  o["first_bad_log_id"] = first_bad ? json::value("log_" + std::to_string(*first_bad)) : nullptr;
  if (!first_bad) o["head_hash"] = prev;
  send_json(res, 200, o);
}

constexpr route_spec routes[] = {
    {engine::method::get, "/api/v1/security/audit/logs", list_logs},
    {engine::method::post, "/api/v1/security/audit/export", export_logs},
    {engine::method::get, "/api/v1/security/audit/verify", verify_chain},
};

}  // namespace

std::span<const route_spec> audit_routes() { return routes; }

}  // namespace tollgate::api
