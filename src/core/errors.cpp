#include "matrx/orm/errors.hpp"

#include <atomic>

#include <fmt/format.h>

namespace matrx::orm {

namespace {
std::atomic<ParameterPolicy> g_param_policy{ParameterPolicy::redacted};

void line(std::string& out, const char* label, const std::string& value) {
  if (value.empty()) return;
  fmt::format_to(std::back_inserter(out), "\n  {:<11} ", label);
  // Indent continuation lines of multi-line values (SQL) under the value column.
  for (char c : value) {
    out.push_back(c);
    if (c == '\n') out.append(14, ' ');
  }
}
}  // namespace

void set_error_parameter_policy(ParameterPolicy policy) noexcept { g_param_policy = policy; }
ParameterPolicy error_parameter_policy() noexcept { return g_param_policy; }

OrmError::OrmError(std::string message, ErrorContext context)
    : std::runtime_error(message),
      message_(std::move(message)),
      context_(std::move(context)),
      formatted_(std::make_shared<std::string>()) {
  reformat();
}

void OrmError::reformat() {
  std::string out = fmt::format("{}: {}", kind(), message_);
  const auto& c = context_;
  line(out, "model:", c.model);
  line(out, "operation:", c.operation);
  line(out, "database:", c.database);
  line(out, "field:", c.field);
  line(out, "sql:", c.sql);
  if (!c.params.empty()) {
    std::string ps;
    for (std::size_t i = 0; i < c.params.size(); ++i)
      fmt::format_to(std::back_inserter(ps), "{}${} = {}", i ? ", " : "", i + 1, c.params[i]);
    line(out, "params:", ps);
  }
  line(out, "sqlstate:", c.sqlstate);
  line(out, "constraint:", c.constraint);
  line(out, "table:", c.table);
  line(out, "column:", c.column);
  line(out, "detail:", c.detail);
  line(out, "hint:", c.hint);
  formatted_ = std::make_shared<std::string>(std::move(out));
}

OrmError& OrmError::enrich_model(std::string model) {
  if (context_.model.empty()) { context_.model = std::move(model); reformat(); }
  return *this;
}
OrmError& OrmError::enrich_operation(std::string operation) {
  if (context_.operation.empty()) { context_.operation = std::move(operation); reformat(); }
  return *this;
}
OrmError& OrmError::enrich_sql(std::string sql, std::vector<std::string> params) {
  if (context_.sql.empty()) {
    context_.sql = std::move(sql);
    context_.params = std::move(params);
    reformat();
  }
  return *this;
}
OrmError& OrmError::enrich_database(std::string database) {
  if (context_.database.empty()) { context_.database = std::move(database); reformat(); }
  return *this;
}

}  // namespace matrx::orm
