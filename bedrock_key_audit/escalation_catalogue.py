"""The IAM privilege-escalation paths of cloudsplaining 0.9.1, as data (vendored, not imported).

Source: ``cloudsplaining/shared/constants.py`` ``PRIVILEGE_ESCALATION_METHODS`` of the PyPI package
cloudsplaining 0.9.1 (Salesforce; https://github.com/salesforce/cloudsplaining), which collects
Rhino Security Labs' paths ("AWS IAM Privilege Escalation -- Methods and Mitigation",
https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/) and those of
pathfinding.cloud.  Each path is the set of actions (lower case, as there) that together let a
principal escalate.  Only the data is copied, so that the audit does not depend on the package
(its HTML report stack is heavy); :mod:`bedrock_key_audit.escalation` decides which of them it
evaluates.  Redistributed under cloudsplaining's licence (BSD 3-Clause), reproduced as it requires:

    Copyright (c) 2020, Salesforce.com, Inc. All rights reserved.

    Redistribution and use in source and binary forms, with or without modification, are permitted
    provided that the following conditions are met:

    * Redistributions of source code must retain the above copyright notice, this list of conditions
      and the following disclaimer.

    * Redistributions in binary form must reproduce the above copyright notice, this list of
      conditions and the following disclaimer in the documentation and/or other materials provided
      with the distribution.

    * Neither the name of Salesforce.com nor the names of its contributors may be used to endorse or
      promote products derived from this software without specific prior written permission.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
    IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
    FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
    CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
    CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
    SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
    THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR
    OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
    POSSIBILITY OF SUCH DAMAGE.
"""
from __future__ import annotations

PATHS: dict[str, tuple[str, ...]] = {
    "CreateAccessKey": ("iam:createaccesskey",),
    "CreateLoginProfile": ("iam:createloginprofile",),
    "UpdateLoginProfile": ("iam:updateloginprofile",),
    "AddUserToGroup": ("iam:addusertogroup",),
    "CreateNewPolicyVersion": ("iam:createpolicyversion",),
    "SetExistingDefaultPolicyVersion": ("iam:setdefaultpolicyversion",),
    "AttachUserPolicy": ("iam:attachuserpolicy",),
    "AttachGroupPolicy": ("iam:attachgrouppolicy",),
    "AttachRolePolicy": ("iam:attachrolepolicy",),
    "PutUserPolicy": ("iam:putuserpolicy",),
    "PutGroupPolicy": ("iam:putgrouppolicy",),
    "PutRolePolicy": ("iam:putrolepolicy",),
    "UpdateRolePolicyToAssumeIt": ("iam:updateassumerolepolicy",),
    "CreateEC2WithExistingIP": ("iam:passrole", "ec2:runinstances"),
    "PassExistingRoleToNewLambdaThenInvoke": ("iam:passrole", "lambda:createfunction", "lambda:invokefunction"),
    "PassExistingRoleToNewLambdaThenTriggerWithNewDynamo": (
        "iam:passrole",
        "lambda:createfunction",
        "lambda:createeventsourcemapping",
        "dynamodb:createtable",
        "dynamodb:putitem",
    ),
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo": (
        "iam:passrole",
        "lambda:createfunction",
        "lambda:createeventsourcemapping",
    ),
    "PassExistingRoleToNewGlueDevEndpoint": ("iam:passrole", "glue:createdevendpoint"),
    "PassExistingRoleToCloudFormation": ("iam:passrole", "cloudformation:createstack"),
    "PassExistingRoleToNewDataPipeline": ("iam:passrole", "datapipeline:createpipeline"),
    "UpdateExistingGlueDevEndpoint": ("glue:updatedevendpoint",),
    "EditExistingLambdaFunctionWithRole": ("lambda:updatefunctioncode",),
    "AccessExistingBedrockCodeInterpreterSession": (
        "bedrock-agentcore:startcodeinterpretersession",
        "bedrock-agentcore:invokecodeinterpreter",
    ),
    "ExecuteCloudFormationChangeSet": ("cloudformation:createchangeset", "cloudformation:executechangeset"),
    "ModifyEC2InstanceUserDataThenRestart": (
        "ec2:modifyinstanceattribute",
        "ec2:stopinstances",
        "ec2:startinstances",
    ),
    "ModifyExistingEC2LaunchTemplate": ("ec2:createlaunchtemplateversion", "ec2:modifylaunchtemplate"),
    "EC2InstanceConnectSendSSHPublicKey": ("ec2-instance-connect:sendsshpublickey", "ec2:describeinstances"),
    "ECSExecuteCommandOnRunningTask": ("ecs:executecommand", "ecs:describetasks"),
    "UpdateAndInvokeLambdaFunction": ("lambda:updatefunctioncode", "lambda:invokefunction"),
    "UpdateLambdaFunctionAndAddPermission": ("lambda:updatefunctioncode", "lambda:addpermission"),
    "CreatePresignedSageMakerNotebookUrl": ("sagemaker:createpresignednotebookinstanceurl",),
    "UpdateSageMakerNotebookLifecycleConfig": (
        "sagemaker:createnotebookinstancelifecycleconfig",
        "sagemaker:stopnotebookinstance",
        "sagemaker:updatenotebookinstance",
        "sagemaker:startnotebookinstance",
    ),
    "PassExistingRoleToNewAppRunnerService": ("iam:passrole", "apprunner:createservice"),
    "PassExistingRoleToNewBedrockCodeInterpreter": (
        "iam:passrole",
        "bedrock-agentcore:createcodeinterpreter",
        "bedrock-agentcore:startcodeinterpretersession",
        "bedrock-agentcore:invokecodeinterpreter",
    ),
    "PassExistingRoleToNewCloudFormationStackSet": (
        "iam:passrole",
        "cloudformation:createstackset",
        "cloudformation:createstackinstances",
    ),
    "PassRoleToUpdateCloudFormationStackSet": ("iam:passrole", "cloudformation:updatestackset"),
    "PassExistingRoleToNewCodeBuildProjectThenBuild": (
        "iam:passrole",
        "codebuild:createproject",
        "codebuild:startbuild",
    ),
    "PassExistingRoleToNewCodeBuildProjectThenBuildBatch": (
        "iam:passrole",
        "codebuild:createproject",
        "codebuild:startbuildbatch",
    ),
    "PassExistingRoleToNewEC2SpotInstance": ("iam:passrole", "ec2:requestspotinstances"),
    "PassExistingRoleToNewECSClusterServiceTask": (
        "iam:passrole",
        "ecs:createcluster",
        "ecs:registertaskdefinition",
        "ecs:createservice",
    ),
    "PassExistingRoleToNewECSClusterRunTask": (
        "iam:passrole",
        "ecs:createcluster",
        "ecs:registertaskdefinition",
        "ecs:runtask",
    ),
    "PassExistingRoleToNewECSService": ("iam:passrole", "ecs:registertaskdefinition", "ecs:createservice"),
    "PassExistingRoleToNewECSTaskViaRunTask": ("iam:passrole", "ecs:registertaskdefinition", "ecs:runtask"),
    "PassExistingRoleToNewECSTaskViaStartTask": ("iam:passrole", "ecs:registertaskdefinition", "ecs:starttask"),
    "PassExistingRoleToNewGlueJobThenRun": ("iam:passrole", "glue:createjob", "glue:startjobrun"),
    "PassExistingRoleToNewGlueJobViaTrigger": ("iam:passrole", "glue:createjob", "glue:createtrigger"),
    "PassExistingRoleToUpdatedGlueJobThenRun": ("iam:passrole", "glue:updatejob", "glue:startjobrun"),
    "PassExistingRoleToUpdatedGlueJobViaTrigger": ("iam:passrole", "glue:updatejob", "glue:createtrigger"),
    "PassExistingRoleToNewLambdaThenAddPermission": ("iam:passrole", "lambda:createfunction", "lambda:addpermission"),
    "PassExistingRoleToNewSageMakerNotebookInstance": ("iam:passrole", "sagemaker:createnotebookinstance"),
    "PassExistingRoleToNewSageMakerTrainingJob": ("iam:passrole", "sagemaker:createtrainingjob"),
    "PassExistingRoleToNewSageMakerProcessingJob": ("iam:passrole", "sagemaker:createprocessingjob"),
    "CreateAndRotateAccessKey": ("iam:createaccesskey", "iam:deleteaccesskey"),
    "AttachUserPolicyThenCreateAccessKey": ("iam:attachuserpolicy", "iam:createaccesskey"),
    "CreatePolicyVersionThenAssumeRole": ("iam:createpolicyversion", "sts:assumerole"),
    "PutUserPolicyThenCreateAccessKey": ("iam:putuserpolicy", "iam:createaccesskey"),
    "AttachRolePolicyThenUpdateAssumeRolePolicy": ("iam:attachrolepolicy", "iam:updateassumerolepolicy"),
    "CreatePolicyVersionThenUpdateAssumeRolePolicy": ("iam:createpolicyversion", "iam:updateassumerolepolicy"),
    "PutRolePolicyThenUpdateAssumeRolePolicy": ("iam:putrolepolicy", "iam:updateassumerolepolicy"),
}
