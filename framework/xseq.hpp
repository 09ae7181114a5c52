// Umbrella header for the public framework API.
#pragma once

#include "framework/autograd.hpp"
#include "framework/error.hpp"
#include "framework/gradcheck.hpp"
#include "framework/memory.hpp"
#include "framework/ops.hpp"
#include "framework/parallel.hpp"
#include "framework/random.hpp"
#include "framework/shape.hpp"
#include "framework/tensor.hpp"
