/*
 * agilenn_model_data.c - the one translation unit that defines the generated model
 * constants (weights, requantization parameters, thresholds, codec tables).
 */
#define AGILENN_MODEL_IMPLEMENTATION
#include "agilenn_model.h"
