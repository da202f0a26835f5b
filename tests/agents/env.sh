#!/usr/bin/env bash
env | sort
