// CPU time the hypervisor gave to other guests while this VM wanted it ("steal" in
// /proc/stat), and all CPU time, in ticks: the benchmarks print the share over their run,
// since a run with much steal has noisier figures.
#pragma once

#include <fstream>
#include <string>
#include <utility>

inline std::pair<double, double> steal_and_total() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double v[8] = {};
  stat >> cpu;
  for (double& x : v) stat >> x;
  double total = 0;
  for (double x : v) total += x;
  return {v[7], total};
}
