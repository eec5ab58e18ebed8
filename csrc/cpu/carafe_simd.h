// Vector helpers for the CPU kernels: one register-wide vector type per element type (GCC/Clang
// vector extensions, so the same code builds for AVX-512, AVX2 or SSE and the compiler keeps
// small arrays of them in registers), unaligned loads and stores, and the lane shuffles that
// convert between the interleaved output layout (x = s*q + p) and per-phase vectors (one
// phase p, consecutive source columns q).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace carafe_cpu {
namespace simd {

// Register width of the build machine (the library is compiled with -march=native).
#if defined(__AVX512F__)
constexpr int kBytes = 64;
#elif defined(__AVX__)
constexpr int kBytes = 32;
#else
constexpr int kBytes = 16;
#endif
// Vector registers the kernels may fill with accumulators (32 with AVX-512, 16 otherwise).
constexpr int kRegisters = kBytes == 64 ? 32 : 16;

template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kBytes)));
};
template <typename T>
using Vec = typename VecOf<T>::type;
template <typename T>
constexpr int kLanes = kBytes / static_cast<int>(sizeof(T));

template <typename T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void store(T* p, const Vec<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// Lane maps for `gather`: lane i of the result is element at(i) of N vectors laid end to end.
// Interleave<S, L, M>: output vector M of S phase vectors (out[S*q + p] = phase_p[q]).
template <int S, int L, int M>
struct Interleave {
  static constexpr int at(int i) { return ((M * L + i) % S) * L + (M * L + i) / S; }
};
// Deinterleave<S, L, P>: phase P of S interleaved vectors (phase_P[q] = in[S*q + P]).
template <int S, int L, int P>
struct Deinterleave {
  static constexpr int at(int i) { return i * S + P; }
};

// Shuffle indices: the first step takes lanes from src[0] and src[1] (or only src[0]); step J
// keeps the lanes gathered so far and takes the ones that live in src[J].
template <int L, typename Map>
constexpr int first_index(int i) {
  return Map::at(i) < 2 * L ? Map::at(i) : 0;
}
template <int L, typename Map, int J>
constexpr int next_index(int i) {
  return Map::at(i) / L == J ? L + Map::at(i) % L : i;
}

// Two-input shuffle with constant lane indices (0..L-1 from a, L..2L-1 from b):
// __builtin_shufflevector where the compiler has it (Clang, GCC 12+), else GCC's
// __builtin_shuffle with an integer index vector of the same width.
#if defined(__clang__) || !defined(__GNUC__) || __GNUC__ >= 12
#define CARAFE_SHUFFLE(T, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
template <typename T>
struct IndexVecOf {
  typedef std::int32_t type __attribute__((vector_size(kBytes)));
};
template <>
struct IndexVecOf<double> {
  typedef std::int64_t type __attribute__((vector_size(kBytes)));
};
#define CARAFE_SHUFFLE(T, a, b, ...) \
  __builtin_shuffle(a, b, typename IndexVecOf<T>::type{__VA_ARGS__})
#endif

template <typename T, int N, typename Map, int J, std::size_t... I>
inline Vec<T> gather_from(Vec<T> t, const Vec<T>* src, std::index_sequence<I...> seq) {
  if constexpr (J >= N) {
    return t;
  } else {
    t = CARAFE_SHUFFLE(T, t, src[J], next_index<kLanes<T>, Map, J>(I)...);
    return gather_from<T, N, Map, J + 1>(t, src, seq);
  }
}

// The vector whose lane i is element Map::at(i) of src[0..N-1] laid end to end: N - 1 two-input
// shuffles (one for N <= 2).
template <typename T, int N, typename Map, std::size_t... I>
inline Vec<T> gather(const Vec<T>* src, std::index_sequence<I...> seq) {
  const Vec<T> t = CARAFE_SHUFFLE(T, src[0], src[N > 1 ? 1 : 0], first_index<kLanes<T>, Map>(I)...);
  return gather_from<T, N, Map, 2>(t, src, seq);
}

template <typename T, int S, std::size_t... P>
inline void interleave_impl(const Vec<T>* phases, T* out, std::index_sequence<P...>) {
  constexpr int L = kLanes<T>;
  using Lanes = std::make_index_sequence<L>;
  (store(out + P * L, gather<T, S, Interleave<S, L, P>>(phases, Lanes{})), ...);
}
// out[S*q + p] = phases[p][q] for q < L, p < S (S*L values).
template <typename T, int S>
inline void interleave(const Vec<T>* phases, T* out) {
  if constexpr (S == 1) {
    store(out, phases[0]);
  } else {
    interleave_impl<T, S>(phases, out, std::make_index_sequence<S>{});
  }
}

template <typename T, int S, std::size_t... P>
inline void deinterleave_impl(const Vec<T>* in, T* out, std::ptrdiff_t stride,
                              std::index_sequence<P...>) {
  constexpr int L = kLanes<T>;
  using Lanes = std::make_index_sequence<L>;
  (store(out + P * stride, gather<T, S, Deinterleave<S, L, P>>(in, Lanes{})), ...);
}
// out[p * stride + q] = in[S*q + p] for q < L, p < S: reads S*L values.
template <typename T, int S>
inline void deinterleave(const T* in, T* out, std::ptrdiff_t stride) {
  Vec<T> v[S];
  for (int j = 0; j < S; ++j) v[j] = load(in + j * kLanes<T>);
  if constexpr (S == 1) {
    store(out, v[0]);
  } else {
    deinterleave_impl<T, S>(v, out, stride, std::make_index_sequence<S>{});
  }
}

}  // namespace simd
}  // namespace carafe_cpu
