// MATRX_MODEL: describe a plain struct once; the ORM derives everything from it.
//
//   struct User {
//     std::int64_t id = 0;
//     std::string username;
//     std::optional<std::string> email;
//     std::int32_t age = 0;
//   };
//   MATRX_MODEL(User, orm::table("users"),
//               (id, orm::primary_key, orm::identity),
//               (username, orm::max_length(50), orm::unique),
//               (email),
//               (age))
//
// Use it in the namespace of the struct (the description is found by argument-dependent
// lookup). Every listed member becomes a column; members not listed are not stored. The
// model registers itself at program start (registry.hpp). Models stay aggregates, so
// designated initializers work: User{.username = "alice", .age = 30}.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <utility>

#include <boost/preprocessor/cat.hpp>
#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/tuple/enum.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>

#include "matrx/orm/meta/field_info.hpp"
#include "matrx/orm/meta/options.hpp"
#include "matrx/orm/meta/registry.hpp"
#include "matrx/orm/meta/sql_type.hpp"

namespace matrx::orm {

/// A typed column of model M holding a T.
template <class M, class T>
struct FieldDef {
  using model_type = M;
  using value_type = T;
  T M::*member;
  // On the heap, so that building and moving a model's definition (once per model, at
  // start-up) is a pointer move in the code generated for every model, not an inlined copy
  // of a dozen strings (the definitions were a fifth of the compile probe's object code).
  std::unique_ptr<const FieldInfo> info;
  std::function<T()> make_default{};  ///< orm::default_fn, if any
};

template <class M, class... Fields>
struct ModelDef {
  std::string_view type_name;
  ModelOptions options;
  std::tuple<Fields...> fields;
};

namespace detail {
template <class O> struct is_default_fn : std::false_type {};
template <class F> struct is_default_fn<options::DefaultFn<F>> : std::true_type {};

/// A FieldInfo named after the member (compiled once, in the library).
std::unique_ptr<FieldInfo> new_field_info(const char* member_name);

// M is given explicitly so that members inherited from a base struct still describe M.
template <class M, class T, class Base, class... Options>
FieldDef<M, T> make_field(T Base::*member, const char* member_name, const Options&... options) {
  static_assert(std::is_base_of_v<Base, M>, "the member does not belong to this model");
  std::unique_ptr<FieldInfo> info = new_field_info(member_name);
  (options.apply(*info), ...);
  sql_type<T>::describe(*info);
  finish_sql_type(*info);
  FieldDef<M, T> def{static_cast<T M::*>(member), std::move(info)};
  ([&] {
    if constexpr (is_default_fn<Options>::value) def.make_default = [make = options.make] { return T(make()); };
  }(), ...);
  return def;
}

template <class M, class... Fields>
ModelDef<M, Fields...> make_model(std::string_view type_name, ModelOptions options, Fields... fields) {
  return ModelDef<M, Fields...>{type_name, std::move(options), std::tuple<Fields...>(std::move(fields)...)};
}

/// The fields of an abstract model, as a tuple of FieldDef<Abstract, T>.
template <class... Fields>
std::tuple<Fields...> make_abstract(Fields... fields) {
  return std::tuple<Fields...>(std::move(fields)...);
}

// A field of abstract base B seen as a field of M (M derives from B).
template <class M, class B, class T>
FieldDef<M, T> rebind_field(const FieldDef<B, T>& f) {
  static_assert(std::is_base_of_v<B, M>, "a model must derive from the abstract model it extends");
  return FieldDef<M, T>{static_cast<T M::*>(f.member), std::make_unique<const FieldInfo>(*f.info), f.make_default};
}
template <class M, class... Fields>
ModelDef<M, Fields...> model_from_tuple(std::string_view type_name, ModelOptions options, std::tuple<Fields...> fields) {
  return ModelDef<M, Fields...>{type_name, std::move(options), std::move(fields)};
}
/// M's own fields after the fields of abstract model B (inherited first, as in the original).
template <class M, class B, class... Fields>
auto make_extending_model(std::string_view type_name, ModelOptions options, Fields... fields) {
  auto inherited = std::apply([](const auto&... f) { return std::make_tuple(rebind_field<M>(f)...); },
                              matrx_orm_abstract(static_cast<B*>(nullptr)));
  return model_from_tuple<M>(type_name, std::move(options),
                             std::tuple_cat(std::move(inherited), std::tuple<Fields...>(std::move(fields)...)));
}

/// Builds ModelInfo from the definition; validates keys. Throws ConfigurationError.
ModelInfo build_model_info(std::string_view type_name, const ModelOptions& options, std::vector<FieldInfo> fields);
/// The same from the fields of a model's definition (copied).
ModelInfo build_model_info(std::string_view type_name, const ModelOptions& options,
                           std::initializer_list<const FieldInfo*> fields);
}  // namespace detail

template <class M>
concept Described = requires(M* p) { matrx_orm_model(p); };
/// An abstract model (MATRX_ABSTRACT_MODEL): fields to inherit, no table, no registration.
template <class M>
concept AbstractModel = requires(M* p) { matrx_orm_abstract(p); };

/// The typed definition of model M (from MATRX_MODEL).
template <Described M>
const auto& model_def() {
  static const auto def = matrx_orm_model(static_cast<M*>(nullptr));
  return def;
}

/// The run-time description of model M.
template <Described M>
const ModelInfo& model_info() {
  static const ModelInfo info = [] {
    const auto& def = model_def<M>();
    return std::apply([&](const auto&... f) { return detail::build_model_info(def.type_name, def.options, {f.info.get()...}); },
                      def.fields);
  }();
  return info;
}

/// Registers M (MATRX_MODEL does this at program start).
template <Described M>
bool register_model() {
  detail::registry_add(typeid(M), &model_info<M>);
  return true;
}

/// Calls f(field_def, index) for every field of M, in declaration order.
template <Described M, class F>
void for_each_field(F&& f) {
  const auto& def = model_def<M>();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::get<I>(def.fields), I), ...);
  }(std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<decltype(def.fields)>>>{});
}

/// Index of the field whose member is `member`; -1 if the member is not a column.
template <Described M, class T>
std::ptrdiff_t field_index(T M::*member) {
  std::ptrdiff_t found = -1;
  for_each_field<M>([&](const auto& f, std::size_t i) {
    if constexpr (std::is_same_v<typename std::remove_cvref_t<decltype(f)>::value_type, T>)
      if (f.member == member) found = static_cast<std::ptrdiff_t>(i);
  });
  return found;
}

}  // namespace matrx::orm

#define MATRX_ORM_FIELD_ENTRY_(r, Type, i, elem) , MATRX_ORM_FIELD_EXPAND_(Type, BOOST_PP_TUPLE_ENUM(elem))
#define MATRX_ORM_FIELD_EXPAND_(Type, ...) MATRX_ORM_FIELD_MAKE_(Type, __VA_ARGS__)
#define MATRX_ORM_FIELD_MAKE_(Type, member, ...) \
  ::matrx::orm::detail::make_field<Type>(&Type::member, #member __VA_OPT__(, ) __VA_ARGS__)

/// MATRX_MODEL(Type, model_options, (member, field_options...)...)
#define MATRX_MODEL(Type, model_options, ...)                                                       \
  inline auto matrx_orm_model(Type*) {                                                             \
    using namespace ::matrx::orm;                                                                  \
    return ::matrx::orm::detail::make_model<Type>(                                                 \
        #Type, model_options BOOST_PP_SEQ_FOR_EACH_I(MATRX_ORM_FIELD_ENTRY_, Type,                  \
                                                     BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)));       \
  }                                                                                                \
  inline const bool BOOST_PP_CAT(matrx_orm_registered_, Type) = ::matrx::orm::register_model<Type>();

/// MATRX_ABSTRACT_MODEL(Type, (member, field_options...)...): fields that concrete models
/// inherit with MATRX_MODEL_EXTENDS. An abstract model has no table and is not registered;
/// orm::objects<Type>() does not compile.
#define MATRX_ABSTRACT_MODEL(Type, ...)                                                              \
  inline auto matrx_orm_abstract(Type*) {                                                          \
    using namespace ::matrx::orm;                                                                  \
    return ::matrx::orm::detail::make_abstract(BOOST_PP_SEQ_FOR_EACH_I(                             \
        MATRX_ORM_ABSTRACT_FIELD_ENTRY_, Type, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)));             \
  }
#define MATRX_ORM_ABSTRACT_FIELD_ENTRY_(r, Type, i, elem) \
  BOOST_PP_COMMA_IF(i) MATRX_ORM_FIELD_EXPAND_(Type, BOOST_PP_TUPLE_ENUM(elem))

/// MATRX_MODEL_EXTENDS(Type, AbstractBase, model_options, (member, field_options...)...):
/// MATRX_MODEL for a struct deriving from an abstract model; the base's fields come first.
#define MATRX_MODEL_EXTENDS(Type, Base, model_options, ...)                                        \
  inline auto matrx_orm_model(Type*) {                                                             \
    using namespace ::matrx::orm;                                                                  \
    return ::matrx::orm::detail::make_extending_model<Type, Base>(                                 \
        #Type, model_options BOOST_PP_SEQ_FOR_EACH_I(MATRX_ORM_FIELD_ENTRY_, Type,                  \
                                                     BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)));       \
  }                                                                                                \
  inline const bool BOOST_PP_CAT(matrx_orm_registered_, Type) = ::matrx::orm::register_model<Type>();
