// prefetch_related by name: relation paths such as "posts__comments__author", loaded level by
// level with one `= ANY($1)` query per relation per level, whatever the number of objects.
// The typed single-level forms (prefetch_ifk, prefetch_m2m, select_related) are in
// relations.hpp; this is the form for several levels at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/meta/model.hpp"
#include "matrx/orm/model/hydrate.hpp"
#include "matrx/orm/pg/result.hpp"
#include "matrx/orm/query/value.hpp"

namespace matrx::orm {

namespace detail {
/// The rows loaded for each level of the paths and which rows relate to which.
struct PrefetchGraph {
  struct Edge {
    std::string name;        ///< the relation name as written in the path
    std::size_t child = 0;   ///< the level holding the related rows
    std::vector<std::vector<std::size_t>> rows{};  ///< for each row of this level: child rows
  };
  struct Level {
    const ModelInfo* model = nullptr;
    std::vector<std::vector<Param>> roots{};  ///< level 0: the given objects' encoded fields
    pg::Result rows{};                      ///< other levels: every field in order (binary)
    std::vector<Edge> edges{};
    std::size_t size() const { return roots.empty() ? static_cast<std::size_t>(rows.rows()) : roots.size(); }
  };
  std::vector<Level> levels;  ///< levels[0]: the objects prefetch_related was given

  const Edge& edge(std::size_t level, std::string_view name) const;
};

/// Loads every path below `roots` (objects of `model`, each as its encoded fields in field order).
boost::asio::awaitable<std::shared_ptr<const PrefetchGraph>> load_prefetch(const ModelInfo& model,
                                                                           std::vector<std::vector<Param>> roots,
                                                                           std::vector<std::string> paths);
}  // namespace detail

/// One object loaded by prefetch_related, at any depth: decode it with as<T>() and walk on
/// with related(name) along the relations its path named.
class RelatedObject {
 public:
  RelatedObject(std::shared_ptr<const detail::PrefetchGraph> graph, std::size_t level, std::size_t row)
      : graph_(std::move(graph)), level_(level), row_(row) {}

  const ModelInfo& model() const { return *graph_->levels.at(level_).model; }

  /// The object as T; a RelationshipError when T is not the model the relation leads to.
  template <Described T>
  T as() const {
    const auto& level = graph_->levels.at(level_);
    if (level.model != &model_info<T>())
      throw RelationshipError("RelatedObject::as<" + model_info<T>().name + ">(): the relation leads to " + level.model->name,
                      ErrorContext{.model = level.model->name});
    T out{};
    detail::hydrate_in_order(level.rows, static_cast<int>(row_), out);
    return out;
  }

  /// The objects related to this one through `name`, the next step of a prefetched path.
  /// A QueryError when no path went through `name` from here.
  std::vector<RelatedObject> related(std::string_view name) const;

  template <Described T>
  std::vector<T> related_as(std::string_view name) const {
    std::vector<T> out;
    for (const auto& r : related(name)) out.push_back(r.as<T>());
    return out;
  }

 private:
  template <Described M>
  friend class Prefetched;
  std::shared_ptr<const detail::PrefetchGraph> graph_;
  std::size_t level_ = 0, row_ = 0;
};

/// The result of prefetch_related: the objects, and for each of them its related objects.
template <Described M>
class Prefetched {
 public:
  Prefetched(std::vector<M> loaded, std::shared_ptr<const detail::PrefetchGraph> graph)
      : objects(std::move(loaded)), graph_(std::move(graph)) {}

  std::vector<M> objects;

  /// The objects related to objects[i] through `name` (the first step of a path).
  std::vector<RelatedObject> related(std::size_t i, std::string_view name) const {
    return RelatedObject(graph_, 0, i).related(name);
  }
  template <Described T>
  std::vector<T> related_as(std::size_t i, std::string_view name) const {
    return RelatedObject(graph_, 0, i).related_as<T>(name);
  }

 private:
  std::shared_ptr<const detail::PrefetchGraph> graph_;
};

/// Loads the relations named by `paths` for all of `objs`: each path is relation names joined
/// by "__" ("posts__comments__author"). A name is, on its model: a foreign key field ("author_id",
/// or "author" for it), a declared inverse foreign key, a registered model's table whose one
/// foreign key points here ("comments"), "table.field" for any inverse foreign key, or a
/// many-to-many relation. Each relation of each level costs one query for all objects; paths
/// sharing a prefix load it once. Unknown names are a QueryError before any query runs.
template <Described M>
boost::asio::awaitable<Prefetched<M>> prefetch_related(std::vector<M> objs, std::vector<std::string> paths) {
  std::vector<std::vector<Param>> roots;
  roots.reserve(objs.size());
  const ModelInfo& m = model_info<M>();
  for (const auto& obj : objs) {
    std::vector<Param> values;
    for_each_field<M>([&](const auto& f, std::size_t i) { values.push_back(detail::encode_member(obj.*(f.member), m.fields[i])); });
    roots.push_back(std::move(values));
  }
  auto graph = co_await detail::load_prefetch(m, std::move(roots), std::move(paths));
  co_return Prefetched<M>(std::move(objs), std::move(graph));
}

}  // namespace matrx::orm
