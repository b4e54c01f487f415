import { Module } from '@nestjs/common';
import { ReplicaDirectory } from './replica-directory.js';
import { ReplicaHeartbeat } from './replica-heartbeat.service.js';
import { ThisReplica } from './this-replica.js';

@Module({ providers: [ThisReplica, ReplicaHeartbeat, ReplicaDirectory], exports: [ThisReplica, ReplicaHeartbeat, ReplicaDirectory] })
export class ReplicasModule {}
